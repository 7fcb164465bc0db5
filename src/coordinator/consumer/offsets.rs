//! OffsetCommit and OffsetFetch checks for consumer groups (Kafka's `ConsumerGroup.
//! validateOffsetCommit/validateOffsetFetch`): the member must exist and send its current
//! epoch. The offsets themselves are kept with the group's other offsets.

use super::ConsumerGroup;
use crate::coordinator::error::GroupError;

impl ConsumerGroup {
    /// May `member_id` at `epoch` commit? Epoch -1 without a member (a standalone consumer or
    /// an admin client) may only commit while the group has no members.
    pub fn validate_commit(&self, member_id: &str, epoch: i32) -> Result<(), GroupError> {
        if epoch < 0 && self.members.is_empty() {
            return Ok(());
        }
        let m = self
            .members
            .get(member_id)
            .ok_or(GroupError::UnknownMemberId)?;
        if epoch != m.epoch {
            return Err(GroupError::StaleMemberEpoch);
        }
        Ok(())
    }

    /// May `member_id` at `epoch` fetch? Without a member id and with epoch -1 anyone may.
    pub fn validate_fetch(&self, member_id: Option<&str>, epoch: i32) -> Result<(), GroupError> {
        let Some(member_id) = member_id else {
            return Ok(());
        };
        if epoch < 0 && member_id.is_empty() {
            return Ok(());
        }
        let m = self
            .members
            .get(member_id)
            .ok_or(GroupError::UnknownMemberId)?;
        if epoch != m.epoch {
            return Err(GroupError::StaleMemberEpoch);
        }
        Ok(())
    }
}
