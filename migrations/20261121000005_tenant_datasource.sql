-- A tenant whose metrics live in an external Prometheus-compatible server (Prometheus, Mimir,
-- Cortex, Thanos): its queries go there instead of to the built-in store. No row: the store.
create table tenant_datasource (
    tenant_id uuid primary key references tenant (id) on delete cascade,
    -- Base URL; the Prometheus API paths (/api/v1/query, …) are appended.
    url text not null check (url ~ '^https?://'),
    -- Sent as `Authorization: Bearer …`; a secret: never shown, logged or audited.
    bearer_token text,
    -- Sent as `X-Scope-OrgID` (Mimir and Cortex tenants).
    org_id text,
    updated_at timestamptz not null default now()
);

alter table tenant_datasource enable row level security;
create policy tenant_datasource_scoped on tenant_datasource using (meridian_tenant_visible(tenant_id));
grant select, insert, update, delete on tenant_datasource to meridian_app;
