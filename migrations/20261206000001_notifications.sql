-- Notifications: each tenant's Alertmanager configuration, the alerts it routes, its silences,
-- the dispatcher's groups and notification log, and the outbox every notification goes
-- through. Times the dispatcher computes with are milliseconds since the epoch (bigint), as in
-- the notify crate; fingerprints are Alertmanager's (FNV-1a 64 of the labels, as bigint).

-- The configuration as written (the notify crate's ConfigFile as JSON), one a tenant.
create table notify_config (
    tenant_id uuid primary key references tenant (id) on delete cascade,
    config jsonb not null,
    version integer not null default 1,
    updated_by text not null,
    updated_at timestamptz not null default now()
);

-- Alerts as the tenant's Alertmanager keeps them: posted to /api/v2/alerts or sent by
-- Meridian's own rule evaluation. A resolved alert stays a while (for the API and for groups
-- that have not yet sent its resolution).
create table notify_alert (
    tenant_id uuid not null references tenant (id) on delete cascade,
    fingerprint bigint not null,
    labels jsonb not null,
    annotations jsonb not null,
    starts_ms bigint not null,
    ends_ms bigint not null,
    updated_ms bigint not null,
    generator_url text not null default '',
    timeout boolean not null default false,
    -- When Meridian first learned the alert was firing (latency is measured from here).
    received_ms bigint not null,
    -- Acknowledged (in Meridian, or through a notification's link): no repeats, no escalation.
    acknowledged_by text,
    acknowledged_at timestamptz,
    primary key (tenant_id, fingerprint)
);
create index notify_alert_ends on notify_alert (ends_ms);

create table notify_silence (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenant (id) on delete cascade,
    -- Alertmanager's matcher strings (`name="value"`), in order.
    matchers jsonb not null,
    starts_ms bigint not null,
    ends_ms bigint not null,
    updated_ms bigint not null,
    created_by text not null,
    comment text not null
);
create index notify_silence_tenant on notify_silence (tenant_id, ends_ms);

-- The dispatcher's aggregation groups: one a route and group key, flushed when `next_flush_ms`
-- comes; any replica may flush a due group (FOR UPDATE SKIP LOCKED: one does).
create table notify_group (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenant (id) on delete cascade,
    route_id text not null,
    receiver text not null,
    group_key text not null,
    labels jsonb not null,
    next_flush_ms bigint not null,
    has_flushed boolean not null default false,
    -- Its alerts: fingerprint → the alert's updated_ms when it joined.
    members jsonb not null default '{}',
    unique (tenant_id, route_id, group_key)
);
create index notify_group_due on notify_group (next_flush_ms);

-- The notification log: what each receiver integration was last told about each group.
create table notify_log (
    tenant_id uuid not null references tenant (id) on delete cascade,
    receiver text not null,
    integration integer not null,
    group_key text not null,
    firing bigint[] not null,
    resolved bigint[] not null,
    at_ms bigint not null,
    primary key (tenant_id, receiver, integration, group_key)
);

-- Every notification, written in the transaction of the flush that decided it, delivered by
-- whichever replica's worker takes it first (FOR UPDATE SKIP LOCKED, then a lease).
create table notify_outbox (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenant (id) on delete cascade,
    receiver text not null,
    integration integer not null,
    kind text not null,
    group_key text not null,
    status text not null check (status in ('firing', 'resolved')),
    -- The integration as configured and the message (notify crate JSON).
    target jsonb not null,
    message jsonb not null,
    created_ms bigint not null,
    -- When the newest firing alert in it was first received (for the latency measure).
    cause_ms bigint not null,
    state text not null default 'pending' check (state in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0,
    next_attempt_ms bigint not null,
    lease_until_ms bigint,
    give_up_ms bigint not null,
    delivered_ms bigint,
    last_error text
);
create index notify_outbox_pending on notify_outbox (next_attempt_ms) where state = 'pending';
create index notify_outbox_tenant on notify_outbox (tenant_id, created_ms desc);

-- Every delivery attempt: when, the answer, how long it took, what went wrong.
create table notify_attempt (
    id bigserial primary key,
    outbox_id uuid not null references notify_outbox (id) on delete cascade,
    tenant_id uuid not null references tenant (id) on delete cascade,
    at_ms bigint not null,
    http_status integer,
    latency_ms double precision not null,
    error text,
    replica text not null
);
create index notify_attempt_outbox on notify_attempt (outbox_id, at_ms);

-- The escalation steps sent, one row an alert's life and step (so each is sent once).
create table notify_escalation (
    tenant_id uuid not null references tenant (id) on delete cascade,
    fingerprint bigint not null,
    received_ms bigint not null,
    policy text not null,
    step integer not null,
    sent_ms bigint not null,
    primary key (tenant_id, fingerprint, received_ms, policy, step)
);

-- Acknowledgement links used: each works once.
create table notify_ack_link (
    id uuid primary key,
    tenant_id uuid not null references tenant (id) on delete cascade,
    used_ms bigint not null
);

-- The built-in inbox receiver: notifications kept for the tenant's users to read.
create table notify_inbox (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenant (id) on delete cascade,
    outbox_id uuid unique references notify_outbox (id) on delete set null,
    receiver text not null,
    status text not null,
    title text not null,
    message jsonb not null,
    created_at timestamptz not null default now()
);
create index notify_inbox_tenant on notify_inbox (tenant_id, created_at desc);

-- When each user last opened the tenant's inbox: what came later is unread.
create table notify_inbox_read (
    user_id uuid not null references app_user (id) on delete cascade,
    tenant_id uuid not null references tenant (id) on delete cascade,
    read_at timestamptz not null,
    primary key (user_id, tenant_id)
);

alter table notify_config enable row level security;
create policy notify_config_scoped on notify_config using (meridian_tenant_visible(tenant_id));
alter table notify_alert enable row level security;
create policy notify_alert_scoped on notify_alert using (meridian_tenant_visible(tenant_id));
alter table notify_silence enable row level security;
create policy notify_silence_scoped on notify_silence using (meridian_tenant_visible(tenant_id));
alter table notify_group enable row level security;
create policy notify_group_scoped on notify_group using (meridian_tenant_visible(tenant_id));
alter table notify_log enable row level security;
create policy notify_log_scoped on notify_log using (meridian_tenant_visible(tenant_id));
alter table notify_outbox enable row level security;
create policy notify_outbox_scoped on notify_outbox using (meridian_tenant_visible(tenant_id));
alter table notify_attempt enable row level security;
create policy notify_attempt_scoped on notify_attempt using (meridian_tenant_visible(tenant_id));
alter table notify_escalation enable row level security;
create policy notify_escalation_scoped on notify_escalation using (meridian_tenant_visible(tenant_id));
alter table notify_ack_link enable row level security;
create policy notify_ack_link_scoped on notify_ack_link using (meridian_tenant_visible(tenant_id));
alter table notify_inbox_read enable row level security;
create policy notify_inbox_read_scoped on notify_inbox_read using (meridian_tenant_visible(tenant_id));
alter table notify_inbox enable row level security;
create policy notify_inbox_scoped on notify_inbox using (meridian_tenant_visible(tenant_id));

grant select, insert, update, delete on notify_config, notify_alert, notify_silence, notify_group,
    notify_log, notify_outbox, notify_inbox, notify_inbox_read, notify_escalation, notify_ack_link
    to meridian_app;
grant select, insert on notify_attempt to meridian_app;
grant usage on sequence notify_attempt_id_seq to meridian_app;
