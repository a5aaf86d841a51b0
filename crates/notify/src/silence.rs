//! Silences as Alertmanager keeps them: matchers and a time range; pending before it starts,
//! active while it lasts (muting every alert its matchers all match), expired after. Changing
//! an active silence's matchers or start expires it and makes a new one, as Alertmanager does.

use serde::{Deserialize, Serialize};

use crate::{
    matcher::{all_match, Matcher},
    Labels,
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    /// Milliseconds since the epoch.
    pub starts_at: i64,
    pub ends_at: i64,
    pub updated_at: i64,
    pub created_by: String,
    pub comment: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Active,
    Expired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Active => "active",
            State::Expired => "expired",
        }
    }
}

impl Silence {
    pub fn state(&self, now: i64) -> State {
        if self.ends_at <= now {
            State::Expired
        } else if self.starts_at > now {
            State::Pending
        } else {
            State::Active
        }
    }

    pub fn mutes(&self, labels: &Labels, now: i64) -> bool {
        self.state(now) == State::Active && all_match(&self.matchers, labels)
    }

    /// Alertmanager's checks of a new or changed silence.
    pub fn validate(&self, now: i64) -> Result<(), String> {
        if self.matchers.is_empty() {
            return Err("at least one matcher required".into());
        }
        if self.matchers.iter().all(|m| m.matches_value("")) {
            return Err("at least one matcher must not match the empty string".into());
        }
        if self.ends_at < self.starts_at {
            return Err("end time must not be before start time".into());
        }
        if self.ends_at < now {
            return Err("end time can't be in the past".into());
        }
        if self.created_by.trim().is_empty() {
            return Err("creator information missing".into());
        }
        if self.comment.trim().is_empty() {
            return Err("comment missing".into());
        }
        Ok(())
    }

    /// Whether `self` may be changed into `new` in place (Alertmanager's `canUpdate`); when
    /// not, the old silence is expired and the new one gets its own id.
    pub fn can_update_to(&self, new: &Silence, now: i64) -> bool {
        if self.matchers != new.matchers {
            return false;
        }
        match self.state(now) {
            State::Active => new.starts_at / 1000 == self.starts_at / 1000 && new.ends_at >= now,
            State::Pending => new.starts_at >= now,
            State::Expired => false,
        }
    }

    /// Ends the silence at `now` (a pending one never starts). An expired one cannot expire.
    pub fn expire(&mut self, now: i64) -> Result<(), String> {
        match self.state(now) {
            State::Expired => Err(format!("silence {} already expired", self.id)),
            state => {
                if state == State::Pending {
                    self.starts_at = now;
                }
                self.ends_at = now;
                self.updated_at = now;
                Ok(())
            }
        }
    }
}

/// The ids of the silences that mute `labels` at `now`.
pub fn silenced_by(silences: &[Silence], labels: &Labels, now: i64) -> Vec<String> {
    silences
        .iter()
        .filter(|s| s.mutes(labels, now))
        .map(|s| s.id.clone())
        .collect()
}
