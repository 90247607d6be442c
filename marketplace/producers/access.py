"""The producer's own pages: who gets in, and with which producer."""
from marketplace.accounts.models import Role
from marketplace.producers.services import producer_for_user
from marketplace.web.access import object_required

#: A producer's page: a signed-in producer with a profile, passed to the view as `producer`.
producer_required = object_required((Role.PRODUCER,), producer_for_user, "producer")
