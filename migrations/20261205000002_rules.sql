-- Alerting and recording rules: Prometheus rule groups per tenant, each kept whole as the rules
-- crate's JSON (`definition`: name, interval, limit, labels, rules in order), with the columns
-- lists and the evaluator read beside it.
create table rule_group (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenant (id) on delete cascade,
    name text not null check (length(name) between 1 and 200),
    -- The interval the group runs at (its own, or the default when it names none).
    interval_ms bigint not null check (interval_ms between 1000 and 86400000),
    definition jsonb not null,
    version integer not null default 1,
    -- Set for groups Meridian provisions (`builtin`, the demo's): edits go to a copy.
    provisioned text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, name)
);

-- Every save is a version: who, when, why, and the group as it was saved.
create table rule_group_version (
    group_id uuid not null references rule_group (id) on delete cascade,
    version integer not null,
    tenant_id uuid not null references tenant (id) on delete cascade,
    definition jsonb not null,
    author text not null,
    message text not null default '',
    created_at timestamptz not null default now(),
    primary key (group_id, version)
);

-- What the evaluator keeps between evaluations, one row a group. `next_eval_ms` is the group's
-- next slot (Prometheus' schedule: the interval offset by the group's hash); a replica claims a
-- slot by moving it forward in one UPDATE that matches the slot it read, so each slot is
-- evaluated once however many replicas run, and a replica that dies leaves the next slot to
-- the others.
create table rule_group_state (
    group_id uuid primary key references rule_group (id) on delete cascade,
    tenant_id uuid not null references tenant (id) on delete cascade,
    next_eval_ms bigint not null default 0,
    last_eval_ms bigint,
    last_duration_ms double precision,
    evaluations bigint not null default 0,
    missed bigint not null default 0,
    failures bigint not null default 0,
    -- Each rule's state (its alerts with their `for` progress, the series it wrote), keyed by
    -- the rule's kind, name and place among rules of that name.
    rules jsonb not null default '{}',
    evaluated_by text
);

-- Alert history: one row an alert's life (from pending to resolved), written as it changes.
create table alert (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenant (id) on delete cascade,
    group_id uuid references rule_group (id) on delete set null,
    group_name text not null,
    rule_name text not null,
    -- The alert's labels as one text, to find its row again.
    fingerprint text not null,
    labels jsonb not null,
    annotations jsonb not null,
    severity text not null default '',
    state text not null check (state in ('pending', 'firing', 'resolved')),
    value double precision,
    active_at timestamptz not null,
    fired_at timestamptz,
    resolved_at timestamptz,
    last_eval_at timestamptz not null,
    acknowledged_by text,
    acknowledged_at timestamptz,
    ack_comment text,
    unique (tenant_id, fingerprint, active_at)
);
create index alert_tenant_time on alert (tenant_id, active_at desc);
create index alert_open on alert (tenant_id) where state <> 'resolved';

alter table rule_group enable row level security;
create policy rule_group_scoped on rule_group using (meridian_tenant_visible(tenant_id));
alter table rule_group_version enable row level security;
create policy rule_group_version_scoped on rule_group_version using (meridian_tenant_visible(tenant_id));
alter table rule_group_state enable row level security;
create policy rule_group_state_scoped on rule_group_state using (meridian_tenant_visible(tenant_id));
alter table alert enable row level security;
create policy alert_scoped on alert using (meridian_tenant_visible(tenant_id));

grant select, insert, update, delete on rule_group to meridian_app;
grant select, insert on rule_group_version to meridian_app;
grant select, insert, update, delete on rule_group_state to meridian_app;
grant select, insert, update on alert to meridian_app;
