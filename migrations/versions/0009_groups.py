"""Organic districts and PGS groups: groups with coordinators, members, a versioned standard,
farm visits and decisions; a PGS certificate knows the group that issued it; a market counts a
group's decisions or not. The typed organic district of a producer becomes a membership.

Data: each distinct typed `producer.organic_district` (and the issuer of each verified
organic-district certificate) becomes a group of kind organic_district. A producer whose
district a market organizer had verified (a verified, valid organic-district certificate
naming it) becomes an active member; one who only typed the name becomes an applicant,
for the group's coordinators (added by an admin) to accept. Then the typed column goes.

Revision ID: 0009_groups
Revises: 0008_documents_checked
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from marketplace.core.text import slugify

revision = '0009_groups'
down_revision = '0008_documents_checked'
branch_labels = None
depends_on = None

producer = sa.table('producer', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer),
                    sa.column('organic_district', sa.String), sa.column('country', sa.String))
certification = sa.table('certification', sa.column('producer_id', sa.Integer), sa.column('scheme', sa.String),
                         sa.column('issuer', sa.String), sa.column('status', sa.String),
                         sa.column('valid_from', sa.Date), sa.column('valid_until', sa.Date),
                         sa.column('decided_by_id', sa.Integer))
pgs_group = sa.table('pgs_group', sa.column('id', sa.Integer), sa.column('name', sa.String),
                     sa.column('slug', sa.String), sa.column('kind', sa.String), sa.column('country', sa.String),
                     sa.column('region', sa.String), sa.column('story', sa.Text), sa.column('status', sa.String),
                     sa.column('validity_months', sa.Integer), sa.column('created_at', sa.DateTime(timezone=True)))
membership = sa.table('group_membership', sa.column('id', sa.Integer), sa.column('group_id', sa.Integer),
                      sa.column('producer_id', sa.Integer), sa.column('status', sa.String),
                      sa.column('message', sa.String), sa.column('applied_at', sa.DateTime(timezone=True)),
                      sa.column('member_since', sa.DateTime(timezone=True)), sa.column('decided_by_id', sa.Integer),
                      sa.column('decided_at', sa.DateTime(timezone=True)), sa.column('reason', sa.String),
                      sa.column('next_visit_due', sa.Date))
event = sa.table('membership_event', sa.column('membership_id', sa.Integer), sa.column('status', sa.String),
                 sa.column('actor_id', sa.Integer), sa.column('reason', sa.String),
                 sa.column('at', sa.DateTime(timezone=True)))


def _stamp(conn, value: datetime):
    # UTCDateTime stores naive UTC on SQLite and aware on PostgreSQL.
    return value.replace(tzinfo=None) if conn.dialect.name == 'sqlite' else value


def upgrade():
    op.create_table('pgs_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('slug', sa.String(length=140), nullable=False),
    sa.Column('kind', sa.Enum('organic_district', 'pgs_group', 'agroecology_school', name='groupkind', native_enum=False, length=30), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('region', sa.String(length=120), nullable=False),
    sa.Column('story', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('active', 'suspended', name='groupstatus', native_enum=False, length=20), nullable=False),
    sa.Column('standing_until', sa.Date(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('radius_km', sa.Integer(), nullable=True),
    sa.Column('validity_months', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('radius_km IS NULL OR (radius_km >= 1 AND radius_km <= 300)', name=op.f('ck_pgs_group_radius_range')),
    sa.CheckConstraint('validity_months >= 1 AND validity_months <= 36', name=op.f('ck_pgs_group_validity_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_pgs_group_created_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pgs_group')),
    sa.UniqueConstraint('name', name=op.f('uq_pgs_group_name')),
    sa.UniqueConstraint('slug', name=op.f('uq_pgs_group_slug'))
    )
    op.create_table('group_coordinator',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('shown_name', sa.String(length=80), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], name=op.f('fk_group_coordinator_added_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['pgs_group.id'], name=op.f('fk_group_coordinator_group_id_pgs_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_group_coordinator_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_group_coordinator'))
    )
    with op.batch_alter_table('group_coordinator', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_coordinator_user_id'), ['user_id'], unique=False)

    op.create_table('group_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['pgs_group.id'], name=op.f('fk_group_photo_group_id_pgs_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], name=op.f('fk_group_photo_image_id_image'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_photo'))
    )
    with op.batch_alter_table('group_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_photo_group_id'), ['group_id'], unique=False)

    op.create_table('group_standard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('version >= 1', name=op.f('ck_group_standard_version_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_group_standard_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['pgs_group.id'], name=op.f('fk_group_standard_group_id_pgs_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_standard')),
    sa.UniqueConstraint('group_id', 'version', name=op.f('uq_group_standard_group_id_version'))
    )
    op.create_table('group_membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('applied', 'active', 'suspended', 'removed', 'refused', name='membershipstatus', native_enum=False, length=20), nullable=False),
    sa.Column('message', sa.String(length=1000), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('member_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('next_visit_due', sa.Date(), nullable=True),
    sa.Column('reminder_sent_for', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_group_membership_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['pgs_group.id'], name=op.f('fk_group_membership_group_id_pgs_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_group_membership_producer_id_producer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_membership')),
    sa.UniqueConstraint('group_id', 'producer_id', name=op.f('uq_group_membership_group_id_producer_id'))
    )
    with op.batch_alter_table('group_membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_membership_producer_id'), ['producer_id'], unique=False)
        batch_op.create_index('ix_group_membership_status_due', ['status', 'next_visit_due'], unique=False)

    op.create_table('market_group_recognition',
    sa.Column('market_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('recognised_by_id', sa.Integer(), nullable=True),
    sa.Column('recognised_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['pgs_group.id'], name=op.f('fk_market_group_recognition_group_id_pgs_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['market_id'], ['market.id'], name=op.f('fk_market_group_recognition_market_id_market'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recognised_by_id'], ['user.id'], name=op.f('fk_market_group_recognition_recognised_by_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('market_id', 'group_id', name=op.f('pk_market_group_recognition'))
    )
    with op.batch_alter_table('market_group_recognition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_market_group_recognition_group_id'), ['group_id'], unique=False)

    op.create_table('standard_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('guidance', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['standard_id'], ['group_standard.id'], name=op.f('fk_standard_item_standard_id_group_standard'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standard_item'))
    )
    with op.batch_alter_table('standard_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_standard_item_standard_id'), ['standard_id'], unique=False)

    op.create_table('farm_visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('standard_id', sa.Integer(), nullable=False),
    sa.Column('scheduled_for', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'signed', 'decided', 'cancelled', name='visitstatus', native_enum=False, length=20), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_farm_visit_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['pgs_group.id'], name=op.f('fk_farm_visit_group_id_pgs_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['membership_id'], ['group_membership.id'], name=op.f('fk_farm_visit_membership_id_group_membership'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_farm_visit_producer_id_producer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['standard_id'], ['group_standard.id'], name=op.f('fk_farm_visit_standard_id_group_standard')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_farm_visit'))
    )
    with op.batch_alter_table('farm_visit', schema=None) as batch_op:
        batch_op.create_index('ix_farm_visit_group_status', ['group_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_farm_visit_membership_id'), ['membership_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_farm_visit_producer_id'), ['producer_id'], unique=False)

    op.create_table('membership_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('applied', 'active', 'suspended', 'removed', 'refused', name='membershipstatus', native_enum=False, length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_membership_event_actor_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['membership_id'], ['group_membership.id'], name=op.f('fk_membership_event_membership_id_group_membership'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_membership_event'))
    )
    with op.batch_alter_table('membership_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_event_membership_id'), ['membership_id'], unique=False)

    op.create_table('visit_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.Enum('complies', 'not', 'na', name='answer', native_enum=False, length=10), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['standard_item.id'], name=op.f('fk_visit_answer_item_id_standard_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_visit_answer_updated_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['visit_id'], ['farm_visit.id'], name=op.f('fk_visit_answer_visit_id_farm_visit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_answer')),
    sa.UniqueConstraint('visit_id', 'item_id', name=op.f('uq_visit_answer_visit_id_item_id'))
    )
    op.create_table('visit_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('approved', 'conditions', 'refused', name='outcome', native_enum=False, length=20), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('conditions', sa.Text(), nullable=False),
    sa.Column('conditions_due', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome <> 'conditions' OR conditions_due IS NOT NULL", name=op.f('ck_visit_decision_conditions_have_deadline')),
    sa.CheckConstraint("outcome = 'refused' OR valid_until IS NOT NULL", name=op.f('ck_visit_decision_approval_has_validity')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_visit_decision_decided_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['pgs_group.id'], name=op.f('fk_visit_decision_group_id_pgs_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_visit_decision_producer_id_producer'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visit_id'], ['farm_visit.id'], name=op.f('fk_visit_decision_visit_id_farm_visit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_decision')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_visit_decision_visit_id'))
    )
    with op.batch_alter_table('visit_decision', schema=None) as batch_op:
        batch_op.create_index('ix_visit_decision_producer_group', ['producer_id', 'group_id', 'decided_at'], unique=False)

    op.create_table('visit_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('upload_key', sa.String(length=40), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], name=op.f('fk_visit_photo_image_id_image'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['standard_item.id'], name=op.f('fk_visit_photo_item_id_standard_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_visit_photo_uploaded_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['visit_id'], ['farm_visit.id'], name=op.f('fk_visit_photo_visit_id_farm_visit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_photo')),
    sa.UniqueConstraint('visit_id', 'upload_key', name=op.f('uq_visit_photo_visit_id_upload_key'))
    )
    with op.batch_alter_table('visit_photo', schema=None) as batch_op:
        batch_op.create_index('ix_visit_photo_visit_item', ['visit_id', 'item_id'], unique=False)

    op.create_table('visit_reviewer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('member', 'consumer', 'adviser', name='reviewerrole', native_enum=False, length=20), nullable=False),
    sa.Column('shown_name', sa.String(length=80), nullable=False),
    sa.Column('signed_off_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_visit_reviewer_user_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['visit_id'], ['farm_visit.id'], name=op.f('fk_visit_reviewer_visit_id_farm_visit'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_reviewer')),
    sa.UniqueConstraint('visit_id', 'user_id', name=op.f('uq_visit_reviewer_visit_id_user_id'))
    )
    with op.batch_alter_table('visit_reviewer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_reviewer_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('certification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_certification_group_id'), ['group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_certification_group_id_pgs_group'), 'pgs_group', ['group_id'], ['id'], ondelete='SET NULL')

    _districts_become_groups()
    # Not batch mode: on SQLite that copies the producer table, and dropping the old copy
    # with foreign keys on would delete (or refuse) every row that points at a producer.
    op.drop_index('ix_producer_organic_district', table_name='producer')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE producer DROP COLUMN organic_district')
    else:
        op.drop_column('producer', 'organic_district')



def downgrade():
    op.add_column('producer', sa.Column('organic_district', sa.String(length=120), nullable=False,
                                        server_default=''))
    op.create_index('ix_producer_organic_district', 'producer', ['organic_district'], unique=False)
    _groups_become_districts()

    with op.batch_alter_table('certification', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_certification_group_id_pgs_group'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_certification_group_id'))
        batch_op.drop_column('group_id')

    with op.batch_alter_table('visit_reviewer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_reviewer_user_id'))

    op.drop_table('visit_reviewer')
    with op.batch_alter_table('visit_photo', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_photo_visit_item')

    op.drop_table('visit_photo')
    with op.batch_alter_table('visit_decision', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_decision_producer_group')

    op.drop_table('visit_decision')
    op.drop_table('visit_answer')
    with op.batch_alter_table('membership_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_event_membership_id'))

    op.drop_table('membership_event')
    with op.batch_alter_table('farm_visit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_farm_visit_producer_id'))
        batch_op.drop_index(batch_op.f('ix_farm_visit_membership_id'))
        batch_op.drop_index('ix_farm_visit_group_status')

    op.drop_table('farm_visit')
    with op.batch_alter_table('standard_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_standard_item_standard_id'))

    op.drop_table('standard_item')
    with op.batch_alter_table('market_group_recognition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_market_group_recognition_group_id'))

    op.drop_table('market_group_recognition')
    with op.batch_alter_table('group_membership', schema=None) as batch_op:
        batch_op.drop_index('ix_group_membership_status_due')
        batch_op.drop_index(batch_op.f('ix_group_membership_producer_id'))

    op.drop_table('group_membership')
    op.drop_table('group_standard')
    with op.batch_alter_table('group_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_photo_group_id'))

    op.drop_table('group_photo')
    with op.batch_alter_table('group_coordinator', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_coordinator_user_id'))

    op.drop_table('group_coordinator')
    op.drop_table('pgs_group')


def _districts_become_groups():
    conn = op.get_bind()
    now = datetime.now(timezone.utc)
    today = now.date()
    typed = conn.execute(sa.select(producer.c.id, producer.c.user_id, producer.c.organic_district,
                                   producer.c.country).where(producer.c.organic_district != '')
                         .order_by(producer.c.id)).all()
    verified = conn.execute(
        sa.select(certification.c.producer_id, certification.c.issuer, certification.c.valid_from,
                  certification.c.decided_by_id, producer.c.user_id, producer.c.country)
        .join(producer, producer.c.id == certification.c.producer_id)
        .where(certification.c.scheme == 'organic_district', certification.c.status == 'verified',
               certification.c.valid_until >= today)
        .order_by(certification.c.valid_from)).all()
    groups: dict[str, int] = {}
    slugs: set[str] = set()

    def group_for(name: str, country: str) -> int:
        name = ' '.join(name.split())[:120]
        key = name.lower()
        if key not in groups:
            base = slugify(name)[:120] or 'district'
            slug, n = base, 2
            while slug in slugs:
                slug, n = f'{base}-{n}', n + 1
            slugs.add(slug)
            groups[key] = conn.execute(pgs_group.insert().values(
                name=name, slug=slug, kind='organic_district', country=(country or 'KG')[:2], region='', story='',
                status='active', validity_months=12, created_at=_stamp(conn, now)).returning(pgs_group.c.id)
            ).scalar_one()
        return groups[key]

    members: dict[tuple[int, int], dict] = {}
    for producer_id, user_id, name, country in typed:
        members.setdefault((group_for(name, country), producer_id),
                           {'user_id': user_id, 'status': 'applied', 'since': None, 'by': None})
    for producer_id, issuer, valid_from, decided_by_id, user_id, country in verified:
        if not (issuer or '').strip():
            continue
        row = members.setdefault((group_for(issuer, country), producer_id),
                                 {'user_id': user_id, 'status': 'applied', 'since': None, 'by': None})
        since = datetime.combine(valid_from or today, datetime.min.time(), tzinfo=timezone.utc)
        row.update(status='active', since=since, by=decided_by_id)
    for (group_id, producer_id), row in members.items():
        active = row['status'] == 'active'
        membership_id = conn.execute(membership.insert().values(
            group_id=group_id, producer_id=producer_id, status=row['status'],
            message='Organic district typed on the profile before groups existed.'[:1000],
            applied_at=_stamp(conn, now), member_since=_stamp(conn, row['since']) if row['since'] else None, decided_by_id=row['by'] if active else None,
            decided_at=_stamp(conn, now) if active else None, reason='',
            next_visit_due=today if active else None).returning(membership.c.id)).scalar_one()
        conn.execute(event.insert().values(membership_id=membership_id, status='applied', actor_id=row['user_id'],
                                           reason='', at=_stamp(conn, now)))
        if active:
            conn.execute(event.insert().values(
                membership_id=membership_id, status='active', actor_id=row['by'],
                reason='A verified organic-district certificate named this district', at=_stamp(conn, now)))


def _groups_become_districts():
    """Back to a typed name: each producer's active (else applied) group."""
    conn = op.get_bind()
    rows = conn.execute(sa.select(membership.c.producer_id, pgs_group.c.name, membership.c.status)
                        .join(pgs_group, pgs_group.c.id == membership.c.group_id)
                        .where(membership.c.status.in_(['active', 'applied']))
                        .order_by(membership.c.status, membership.c.id)).all()
    chosen: dict[int, str] = {}
    for producer_id, name, _status in rows:  # 'active' sorts before 'applied'
        chosen.setdefault(producer_id, name)
    for producer_id, name in chosen.items():
        conn.execute(producer.update().where(producer.c.id == producer_id).values(organic_district=name[:120]))
