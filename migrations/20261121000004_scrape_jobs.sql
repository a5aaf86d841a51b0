-- Scrape jobs: what Meridian pulls from /metrics endpoints, per tenant (server/src/scrape).
-- `targets` are host:port pairs; every target of a job is scraped at the job's interval and its
-- samples carry job="<name>", instance="<target>" and the job's extra labels.
create table scrape_job (
    id uuid primary key default gen_random_uuid(),
    tenant_id uuid not null references tenant (id) on delete cascade,
    name text not null,
    targets text[] not null,
    scheme text not null default 'http' check (scheme in ('http', 'https')),
    metrics_path text not null default '/metrics',
    interval_seconds integer not null check (interval_seconds between 1 and 3600),
    timeout_seconds integer not null check (timeout_seconds >= 1 and timeout_seconds <= interval_seconds),
    labels jsonb not null default '{}',
    enabled boolean not null default true,
    -- Written by Meridian itself (the self-scrape of the `system` tenant): its target follows
    -- the listen address at every start.
    builtin boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (tenant_id, name)
);

alter table scrape_job enable row level security;
create policy scrape_job_scoped on scrape_job using (meridian_tenant_visible(tenant_id));
grant select, insert, update, delete on scrape_job to meridian_app;
