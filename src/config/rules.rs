//! Rules that tie settings together, checked once every key has its value: a key's own range
//! sits in its table entry, a bound set by another key here.

use super::Config;

/// A broken rule: the key whose value is refused, and why.
pub struct Broken {
    pub key: &'static str,
    pub reason: String,
}

/// Kafka's checks of the consumer group settings (GroupCoordinatorConfig): each min is at
/// most its max, the heartbeat interval and the session timeout lie within their bounds, and
/// the heartbeat interval is less than the session timeout. A manual clock needs the control
/// plane that moves it.
pub fn check(config: &Config) -> Result<(), Broken> {
    if config.control_manual_clock && !config.control_enable {
        return Err(Broken {
            key: "control.clock",
            reason: "a manual clock is moved by the control plane: set control.enable=true too"
                .into(),
        });
    }
    let g = &config.group_consumer;
    within(
        "group.consumer.heartbeat.interval.ms",
        g.heartbeat_interval_ms,
        (
            "group.consumer.min.heartbeat.interval.ms",
            g.min_heartbeat_interval_ms,
        ),
        (
            "group.consumer.max.heartbeat.interval.ms",
            g.max_heartbeat_interval_ms,
        ),
    )?;
    within(
        "group.consumer.session.timeout.ms",
        g.session_timeout_ms,
        (
            "group.consumer.min.session.timeout.ms",
            g.min_session_timeout_ms,
        ),
        (
            "group.consumer.max.session.timeout.ms",
            g.max_session_timeout_ms,
        ),
    )?;
    if g.heartbeat_interval_ms >= g.session_timeout_ms {
        return Err(Broken {
            key: "group.consumer.heartbeat.interval.ms",
            reason: format!(
                "must be less than group.consumer.session.timeout.ms ({})",
                g.session_timeout_ms
            ),
        });
    }
    Ok(())
}

/// `key`'s `value` lies within the values of two other keys, which are in order.
fn within(
    key: &'static str,
    value: i64,
    (min_key, min): (&'static str, i64),
    (max_key, max): (&'static str, i64),
) -> Result<(), Broken> {
    if min > max {
        return Err(Broken {
            key: min_key,
            reason: format!("must not exceed {max_key} ({max})"),
        });
    }
    if value < min || value > max {
        return Err(Broken {
            key,
            reason: format!("must be in {min}..={max} ({min_key}..={max_key})"),
        });
    }
    Ok(())
}
