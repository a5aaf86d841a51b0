//! What the scraper (server/src/scrape) shares with the pages and the API: the health of every
//! target it runs, and a signal to reload the jobs after a change.

use std::{collections::BTreeMap, sync::RwLock};

use tokio::sync::Notify;
use uuid::Uuid;

use super::TargetHealth;

#[derive(Default)]
pub struct ScrapeRuntime {
    reload: Notify,
    health: RwLock<BTreeMap<(Uuid, String), TargetHealth>>,
}

impl ScrapeRuntime {
    /// Asks the scraper to read the jobs again (after a change committed).
    pub fn jobs_changed(&self) {
        self.reload.notify_one();
    }

    pub async fn wait_for_change(&self) {
        self.reload.notified().await
    }

    pub fn report(&self, health: TargetHealth) {
        let key = (health.job_id, health.target.clone());
        self.health
            .write()
            .expect("not poisoned")
            .insert(key, health);
    }

    pub fn forget(&self, job: Uuid, target: &str) {
        self.health
            .write()
            .expect("not poisoned")
            .remove(&(job, target.to_string()));
    }

    /// The targets of `job`, in the order of its target list; `unknown` until scraped here.
    pub fn targets_of(&self, job: &super::ScrapeJob) -> Vec<TargetHealth> {
        let health = self.health.read().expect("not poisoned");
        job.targets
            .iter()
            .map(|target| {
                health
                    .get(&(job.id, target.clone()))
                    .filter(|h| job.enabled && h.url == job.url(target))
                    .cloned()
                    .unwrap_or_else(|| TargetHealth {
                        job_id: job.id,
                        target: target.clone(),
                        url: job.url(target),
                        health: "unknown".into(),
                        last_scrape: None,
                        last_duration_seconds: 0.0,
                        last_error: String::new(),
                        samples: 0,
                    })
            })
            .collect()
    }
}
