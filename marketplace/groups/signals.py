"""Signals the groups feature sends; trust listens (trust imports groups, not the reverse).

Trust turns a group's decisions into badges and figures: an approval issues or renews the
producer's PGS certificate, a removal ends it, and every change refreshes the trust score.
Receivers run inside the sender's transaction (before the view commits) and must be
idempotent: raising aborts the change.
"""
from blinker import Namespace

_signals = Namespace()

#: sender=Membership after its status changed, previous=MembershipStatus | None, actor=User.
#: Trust ends the group's certificate of a removed member and recomputes the producer's score.
membership_changed = _signals.signal("membership-changed")
#: sender=Decision just recorded (its visit now decided), actor=User. Trust issues or renews
#: the PGS certificate on an approval and ends it on a refusal.
visit_decided = _signals.signal("visit-decided")
#: sender=Group whose status or standing date changed, actor=User. Trust recomputes the
#: scores of its members.
group_standing_changed = _signals.signal("group-standing-changed")
