-- Scheduled digests: each digest sent, one row a tenant, receiver and period, written in the
-- transaction that queues its notifications, so however many replicas look, a digest is sent
-- once (a second replica's insert waits for the first's commit, then finds the row).

create table notify_digest (
    tenant_id uuid not null references tenant (id) on delete cascade,
    receiver text not null,
    period_start_ms bigint not null,
    period_end_ms bigint not null,
    -- The digest's schedule as the contact points page names it (`weekly on Monday at 08:00
    -- (Europe/Berlin)`), to show when each digest was last sent.
    schedule text not null,
    sent_ms bigint not null,
    created_at timestamptz not null default now(),
    primary key (tenant_id, receiver, period_start_ms, period_end_ms)
);
create index notify_digest_schedule on notify_digest (tenant_id, receiver, schedule, sent_ms desc);

-- A digest goes through the outbox like every notification (retries, backoff, the attempt
-- log); its status says so and its message is the digest's report, not an alert group.
alter table notify_outbox drop constraint notify_outbox_status_check;
alter table notify_outbox add constraint notify_outbox_status_check
    check (status in ('firing', 'resolved', 'digest'));

alter table notify_digest enable row level security;
create policy notify_digest_scoped on notify_digest using (meridian_tenant_visible(tenant_id));
grant select, insert on notify_digest to meridian_app;
