-- The metric store (crates/store): a series index, compressed chunks partitioned by day,
-- a durable ingest log for samples not yet in chunks, metric metadata and per-tenant limits.

-- Per-tenant overrides of the store's limits; a null column means "the installation default".
create table tenant_limits (
    tenant_id uuid primary key references tenant (id) on delete cascade,
    retention_days integer check (retention_days > 0),
    max_series integer check (max_series > 0),
    max_samples_per_second integer check (max_samples_per_second > 0),
    max_labels_per_series integer check (max_labels_per_series > 0),
    max_label_name_length integer check (max_label_name_length > 0),
    max_label_value_length integer check (max_label_value_length > 0),
    updated_at timestamptz not null default now()
);

-- One row per series. `labels` holds every label but the metric name, which has its own column
-- for the most common lookup. The fingerprint is Labels::fingerprint (FNV-1a 64) as a signed
-- bigint; first_ts / last_ts are milliseconds, last_ts advanced at each checkpoint.
create table metric_series (
    id bigint generated always as identity primary key,
    tenant_id uuid not null references tenant (id) on delete cascade,
    fingerprint bigint not null,
    name text not null,
    labels jsonb not null,
    first_ts bigint not null,
    last_ts bigint not null,
    created_at timestamptz not null default now(),
    unique (tenant_id, fingerprint)
);
create index metric_series_name on metric_series (tenant_id, name);
create index metric_series_labels on metric_series using gin (labels jsonb_path_ops);

-- Compressed samples (crates/store/src/chunk.rs), at most 120 a row, never crossing a UTC day,
-- so retention drops whole daily partitions (created on demand: metric_chunk_YYYYMMDD).
-- Rows are reached only through a tenant's series ids.
create table metric_chunk (
    series_id bigint not null,
    start_ts bigint not null,
    end_ts bigint not null,
    samples integer not null,
    data bytea not null,
    primary key (series_id, start_ts)
) partition by range (start_ts);

-- Acknowledged samples not yet in chunks: one row per group commit, written before a writer is
-- answered. A checkpoint writes the chunks and deletes the rows it covered in one transaction;
-- a restart replays its own rows; other replicas read rows of other writers to see them at once.
create table metric_ingest_log (
    id bigint generated always as identity primary key,
    writer uuid not null,
    samples integer not null,
    body bytea not null,
    received_at timestamptz not null default now()
);
create index metric_ingest_log_writer on metric_ingest_log (writer, id);

-- Metric metadata as remote_write sends it (and scrapes find it): type, help, unit per family.
create table metric_metadata (
    tenant_id uuid not null references tenant (id) on delete cascade,
    metric text not null,
    type text not null,
    help text not null,
    unit text not null,
    updated_at timestamptz not null default now(),
    primary key (tenant_id, metric)
);

alter table tenant_limits enable row level security;
create policy tenant_limits_scoped on tenant_limits using (meridian_tenant_visible(tenant_id));
alter table metric_series enable row level security;
create policy metric_series_scoped on metric_series using (meridian_tenant_visible(tenant_id));
alter table metric_metadata enable row level security;
create policy metric_metadata_scoped on metric_metadata using (meridian_tenant_visible(tenant_id));

grant select, insert, update on tenant_limits to meridian_app;
grant select on metric_series, metric_metadata to meridian_app;
