-- Tenants, users, API tokens, login failures and the tamper-evident audit trail.

-- The role Meridian acts as inside every scoped transaction (SET LOCAL ROLE). It owns nothing
-- and is no superuser, so row-level security applies to it and it cannot rewrite history.
do $$
begin
    create role meridian_app nologin;
exception when others then
    -- Roles are cluster-wide: another database (or a concurrent migration) made it already.
    if not exists (select from pg_roles where rolname = 'meridian_app') then
        raise;
    end if;
end
$$;

do $$
begin
    if not (select rolsuper from pg_roles where rolname = current_user) then
        execute format('grant meridian_app to %I', current_user);
    end if;
end
$$;

-- True when the scoped transaction may see rows of tenant `t`: the scope sets
-- meridian.all_tenants (admins, managers of every tenant) or meridian.tenant_ids ('{uuid,…}').
-- Unset means nothing is visible: a transaction that forgot its scope sees no tenant data.
create function meridian_tenant_visible(t uuid) returns boolean
language sql stable as $$
    select coalesce(current_setting('meridian.all_tenants', true), '') = 'on'
        or t = any (coalesce(nullif(current_setting('meridian.tenant_ids', true), ''), '{}')::uuid[])
$$;

create function meridian_all_tenants() returns boolean
language sql stable as $$
    select coalesce(current_setting('meridian.all_tenants', true), '') = 'on'
$$;

create table tenant (
    id uuid primary key default gen_random_uuid(),
    name text not null check (length(name) between 1 and 64),
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index tenant_name_key on tenant (lower(name));

create table app_user (
    id uuid primary key default gen_random_uuid(),
    email text not null check (length(email) between 3 and 254),
    display_name text not null default '',
    password_hash text not null,
    role text not null check (role in ('admin', 'manager', 'tenant-editor', 'tenant-viewer')),
    -- Tenant roles belong to exactly one tenant; admins and managers to none.
    tenant_id uuid references tenant (id),
    active boolean not null default true,
    locked_until timestamptz,
    last_login_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint app_user_tenant_matches_role check ((role in ('tenant-editor', 'tenant-viewer')) = (tenant_id is not null))
);
create unique index app_user_email_key on app_user (lower(email));
create index app_user_tenant on app_user (tenant_id);

-- The tenants a manager may see; a manager without rows here sees every tenant.
create table manager_tenant (
    tenant_id uuid not null references tenant (id),
    user_id uuid not null references app_user (id) on delete cascade,
    created_at timestamptz not null default now(),
    primary key (tenant_id, user_id)
);
create index manager_tenant_user on manager_tenant (user_id);

create table api_token (
    tenant_id uuid not null references tenant (id),
    id uuid not null default gen_random_uuid(),
    name text not null check (length(name) between 1 and 64),
    -- The first characters of the secret, shown in lists; the secret itself is only hashed.
    prefix text not null,
    secret_sha256 bytea not null,
    scopes text[] not null check (cardinality(scopes) > 0 and scopes <@ array['ingest', 'read', 'write']),
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    created_by uuid references app_user (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);
create unique index api_token_prefix_key on api_token (prefix);

-- Failed logins, for the per-account and per-address limits. Not tenant data: written before
-- anyone is known.
create table login_failure (
    id bigint generated always as identity primary key,
    email text not null,
    ip inet,
    created_at timestamptz not null default now()
);
create index login_failure_email on login_failure (email, created_at);
create index login_failure_ip on login_failure (ip, created_at);

-- The audit trail. Append-only: each row carries the hash of the previous one and its own hash
-- over a canonical encoding, so changing or deleting any row breaks the chain.
create table audit_event (
    id bigint primary key,
    occurred_at timestamptz not null default now(),
    actor_type text not null check (actor_type in ('user', 'token', 'system', 'anonymous')),
    actor_id text,
    actor_label text not null default '',
    tenant_id uuid,
    action text not null,
    target_type text not null default '',
    target_id text not null default '',
    before jsonb,
    after jsonb,
    ip inet,
    user_agent text not null default '',
    correlation_id text not null default '',
    prev_hash bytea not null,
    hash bytea not null
);
create index audit_event_tenant_time on audit_event (tenant_id, occurred_at desc);
create index audit_event_time on audit_event (occurred_at desc);

-- The end of the chain. One row, locked by every append, so appends from any number of
-- replicas form one sequence with gap-free ids.
create table audit_chain_head (
    singleton boolean primary key default true check (singleton),
    last_id bigint not null,
    last_hash bytea not null
);
insert into audit_chain_head (last_id, last_hash) values (0, decode(repeat('00', 32), 'hex'));

-- The canonical encoding that is hashed: a JSON array of every column but the hash, in order.
-- `server audit verify` recomputes the SHA-256 of this text for every row.
create function audit_event_canonical(e audit_event) returns text
language sql stable as $$
    select jsonb_build_array(
        e.id,
        to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        e.actor_type, e.actor_id, e.actor_label, e.tenant_id, e.action, e.target_type, e.target_id,
        e.before, e.after, host(e.ip), e.user_agent, e.correlation_id,
        encode(e.prev_hash, 'hex')
    )::text
$$;

create function audit_event_append() returns trigger
language plpgsql security definer set search_path = public as $$
declare
    head audit_chain_head;
begin
    select * into head from audit_chain_head for update;
    new.id := head.last_id + 1;
    new.prev_hash := head.last_hash;
    new.hash := sha256(convert_to(audit_event_canonical(new), 'UTF8'));
    update audit_chain_head set last_id = new.id, last_hash = new.hash;
    return new;
end
$$;

create trigger audit_event_append before insert on audit_event
    for each row execute function audit_event_append();

-- Row-level security: the second wall behind the scoped repositories.
alter table tenant enable row level security;
create policy tenant_scoped on tenant using (meridian_tenant_visible(id));

alter table app_user enable row level security;
create policy app_user_scoped on app_user
    using (case when tenant_id is null then meridian_all_tenants() else meridian_tenant_visible(tenant_id) end);

alter table manager_tenant enable row level security;
create policy manager_tenant_scoped on manager_tenant using (meridian_tenant_visible(tenant_id));

alter table api_token enable row level security;
create policy api_token_scoped on api_token using (meridian_tenant_visible(tenant_id));

alter table audit_event enable row level security;
create policy audit_event_read on audit_event for select
    using (case when tenant_id is null then meridian_all_tenants() else meridian_tenant_visible(tenant_id) end);
-- Anyone may append (failed logins have no tenant); nobody may change.
create policy audit_event_append on audit_event for insert with check (true);

grant usage on schema public to meridian_app;
grant select on installation to meridian_app;
grant select, insert, update on tenant, app_user, api_token to meridian_app;
grant select, insert, delete on manager_tenant, login_failure to meridian_app;
grant select, insert on audit_event to meridian_app;
