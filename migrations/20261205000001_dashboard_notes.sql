-- What an import could not carry over, per panel (viz::import::Report): shown on the panels.
alter table dashboard add column notes jsonb not null default '{}';
