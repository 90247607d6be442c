"""Role decorators named after who they let in, built on `web.access.role_required`."""
from marketplace.accounts.models import Role
from marketplace.web.access import role_required

#: Organizers run markets and check certificates; admins may do everything they do.
organizer_required = role_required(Role.ORGANIZER, Role.ADMIN)
