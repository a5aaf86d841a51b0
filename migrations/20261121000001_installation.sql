-- The identity of this installation: created once, shared by every replica on the database,
-- kept across restarts and upgrades. Shown on the status page and in /health/detailed.
create table installation (
    id uuid primary key default gen_random_uuid(),
    singleton boolean not null default true unique check (singleton),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

insert into installation default values;
