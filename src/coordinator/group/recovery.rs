//! A group and its store: restoring a group replayed on start, and recovering when a write
//! fails (rebalance, undo the offsets it changed).

use tracing::info;

use super::{Effects, Group};
use crate::coordinator::config::GroupConfig;
use crate::coordinator::member::Member;
use crate::coordinator::offsets::CommittedOffset;
use crate::coordinator::record::LoadedGroup;
use crate::coordinator::state::GroupState;

impl Group {
    /// A group replayed from the store: Stable with its members if it had any (their session
    /// timers start now), otherwise Empty. Like Kafka, a group over `group.max.size` is
    /// rebalanced at once (see [`Group::on_loaded`]).
    pub fn restore(id: &str, cfg: GroupConfig, loaded: LoadedGroup, now_ms: i64) -> Group {
        let mut g = Group::absent(id, cfg, now_ms);
        g.exists = true;
        for (topic, partition, value) in loaded.offsets {
            g.offsets.put(&topic, partition, value);
        }
        for (producer_id, topic, partition, value) in loaded.pending {
            g.pending_txn
                .entry(producer_id)
                .or_default()
                .put(&topic, partition, value);
        }
        if let Some(meta) = loaded.metadata {
            g.generation = meta.generation_id;
            g.protocol_type = meta.protocol_type;
            g.state_timestamp_ms = meta.state_timestamp_ms;
            if meta.protocol_name.is_some() && !meta.members.is_empty() {
                g.protocol_name = meta.protocol_name;
                for r in meta.members {
                    let seq = g.take_seq();
                    let m = Member::from_record(r, seq, now_ms);
                    if let Some(inst) = &m.group_instance_id {
                        g.static_members.insert(inst.clone(), m.member_id.clone());
                    }
                    g.members.insert(m.member_id.clone(), m);
                }
                g.leader = meta
                    .leader
                    .filter(|l| g.members.contains_key(l))
                    .or_else(|| g.first_member_id());
                g.state = GroupState::Stable;
                g.previous_state = GroupState::Stable;
            }
        }
        g
    }

    /// Called once after [`Group::restore`].
    pub fn on_loaded(&mut self, now_ms: i64, out: &mut Effects) {
        if self.state == GroupState::Stable && self.members.len() as i64 > self.cfg.max_size as i64
        {
            info!(group = %self.id, "loaded group is over group.max.size; rebalancing");
            self.prepare_rebalance(now_ms, out);
        }
    }

    /// After the store failed to persist this step: rebalance, as Kafka does when storing an
    /// assignment fails (members are told to rejoin; nothing half-written is kept).
    pub fn on_store_failure(&mut self, now_ms: i64, out: &mut Effects) {
        if matches!(
            self.state,
            GroupState::Stable | GroupState::CompletingRebalance
        ) {
            self.prepare_rebalance(now_ms, out);
        }
    }

    /// Restores offsets changed by a failed write.
    pub fn undo_offsets(&mut self, undo: Vec<(String, i32, Option<CommittedOffset>)>) {
        for (topic, partition, old) in undo.into_iter().rev() {
            match old {
                Some(v) => {
                    self.offsets.put(&topic, partition, v);
                }
                None => {
                    self.offsets.remove(&topic, partition);
                }
            }
        }
    }
}
