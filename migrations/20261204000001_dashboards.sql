-- Dashboards: Grafana's classic JSON model (schemaVersion 39+), kept whole in `model` so import
-- and export are mappings, with the columns the lists filter on beside it. A dashboard belongs
-- to one tenant, or is global (tenant_id null): shown across the tenants its viewer sees, to
-- the audience it names.
create table dashboard (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid references tenant (id) on delete cascade,
    -- The URL is /d/{uid}, as in Grafana, so it is unique in the installation.
    uid text not null unique check (uid ~ '^[A-Za-z0-9_-]{1,40}$'),
    title text not null check (length(title) between 1 and 200),
    tags text[] not null default '{}',
    -- Global dashboards only: `admins`; `managers` (and admins); `everyone`, where tenant users
    -- see it over their own tenant.
    audience text not null default 'managers' check (audience in ('admins', 'managers', 'everyone')),
    model jsonb not null,
    version integer not null default 1,
    -- Set for dashboards Meridian provisions (`builtin`), later for files: edits go elsewhere.
    provisioned text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (tenant_id is null or audience = 'managers')
);
create index dashboard_tenant on dashboard (tenant_id);

-- Every save is a version: who, when, why, and the model as it was saved.
create table dashboard_version (
    dashboard_id uuid not null references dashboard (id) on delete cascade,
    version integer not null,
    tenant_id uuid references tenant (id) on delete cascade,
    model jsonb not null,
    author text not null,
    message text not null default '',
    created_at timestamptz not null default now(),
    primary key (dashboard_id, version)
);

create function meridian_role() returns text
language sql stable as $$
    select coalesce(current_setting('meridian.role', true), '')
$$;

create function meridian_sees_global(audience text) returns boolean
language sql stable as $$
    select case audience
        when 'everyone' then true
        when 'managers' then meridian_role() in ('admin', 'manager', 'system')
        else meridian_role() in ('admin', 'system')
    end
$$;

alter table dashboard enable row level security;
create policy dashboard_scoped on dashboard using (
    case when tenant_id is null then meridian_sees_global(audience)
         else meridian_tenant_visible(tenant_id) end);

alter table dashboard_version enable row level security;
create policy dashboard_version_scoped on dashboard_version using (
    case when tenant_id is null then meridian_role() in ('admin', 'manager', 'system')
         else meridian_tenant_visible(tenant_id) end);

grant select, insert, update, delete on dashboard to meridian_app;
grant select, insert on dashboard_version to meridian_app;
