//! Security events: counted in `meridian_security_events_total` and logged together.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityEvent {
    LoginFailed,
    AccountLocked,
    LoginWhileLocked,
    AddressRateLimited,
    TokenRejected,
    CsrfRejected,
}

impl SecurityEvent {
    pub fn name(self) -> &'static str {
        match self {
            SecurityEvent::LoginFailed => "login_failed",
            SecurityEvent::AccountLocked => "account_locked",
            SecurityEvent::LoginWhileLocked => "login_while_locked",
            SecurityEvent::AddressRateLimited => "address_rate_limited",
            SecurityEvent::TokenRejected => "token_rejected",
            SecurityEvent::CsrfRejected => "csrf_rejected",
        }
    }

    pub fn severity(self) -> &'static str {
        match self {
            SecurityEvent::LoginFailed | SecurityEvent::TokenRejected => "warning",
            SecurityEvent::LoginWhileLocked | SecurityEvent::CsrfRejected => "warning",
            SecurityEvent::AccountLocked | SecurityEvent::AddressRateLimited => "critical",
        }
    }

    pub const ALL: [SecurityEvent; 6] = [
        SecurityEvent::LoginFailed,
        SecurityEvent::AccountLocked,
        SecurityEvent::LoginWhileLocked,
        SecurityEvent::AddressRateLimited,
        SecurityEvent::TokenRejected,
        SecurityEvent::CsrfRejected,
    ];

    /// Creates every event's counter at 0.
    pub fn register_all() {
        for event in SecurityEvent::ALL {
            metrics::counter!(
                "meridian_security_events_total",
                "event_type" => event.name(),
                "severity" => event.severity(),
            )
            .increment(0);
        }
    }

    pub fn emit(self, detail: &str) {
        metrics::counter!(
            "meridian_security_events_total",
            "event_type" => self.name(),
            "severity" => self.severity(),
        )
        .increment(1);
        tracing::warn!(
            event_type = self.name(),
            severity = self.severity(),
            detail,
            "Security event."
        );
    }
}
