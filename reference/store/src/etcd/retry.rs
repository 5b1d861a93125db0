//! When a request to one etcd member failed, may it go to the next one? A pure
//! decision, as etcd's clientv3 makes it (`retry.go`), plus one rule of its own for
//! transactions guarded by a revision compare.
//!
//! Entry points: [`Idempotence`], [`Failure`], [`classify_server_error`] and
//! [`may_try_next`].
//!
//! clientv3 retries reads ("repeatable" RPCs) on any `Unavailable` error, and mutations
//! only when the request never reached a member ("there is no connection available"):
//! a mutation that reached a member and failed on the way may have been applied, and
//! resending a plain put or delete would apply it twice. kube-apiserver inherits that
//! rule, so a member dying under a write answers 500 there.
//!
//! Every write this store makes is a transaction whose compare names a revision:
//! create compares `create_revision = 0`, update and delete `mod_revision = expected`.
//! Two copies of such a transaction can never both apply: etcd evaluates the compare
//! when it applies the transaction, so whichever copy comes second (the retry, or a
//! first attempt still in flight on the old member) finds its compare false and
//! changes nothing. Resending one is therefore safe, and it is done (on the next
//! member) after an unknown outcome too. What is *not* safe is trusting the answer of
//! the resend when its compare failed: a create would see the key it wrote itself
//! and report AlreadyExists, an update would report Conflict for its own write. So the
//! client reports that an earlier attempt's outcome was unknown ([`super::client::Reply`]),
//! and the store reads the failure branch: if the key holds exactly the value written
//! (a created object carries a fresh random uid, so it is this request's), the write
//! happened and succeeds; otherwise the answer is "outcome unknown", never a clash.

/// What a request does, which decides whether it may be sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotence {
    /// A read: sending it again changes nothing.
    Read,
    /// A transaction whose compare names a revision: at most one copy can apply.
    Guarded,
    /// Anything else (compaction): resent only when it never reached a member.
    Unguarded,
}

/// How one attempt on one member failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No connection was made: the request never left this process.
    NotSent,
    /// The member refused before doing anything: it has no leader (the request asked
    /// for one, as clientv3's `WithRequireLeader`), or it sheds load.
    Refused,
    /// The request reached a member and its fate is unknown: the connection broke, no
    /// answer came in time, or etcd gave up waiting for the proposal to commit.
    Unknown,
    /// etcd answered with an error about the request itself (compacted, too large...).
    Final,
}

/// Classifies an error etcd's gateway answered with (gRPC code and message).
pub(crate) fn classify_server_error(code: i32, message: &str) -> Failure {
    const UNKNOWN: i32 = 2;
    const DEADLINE_EXCEEDED: i32 = 4;
    const RESOURCE_EXHAUSTED: i32 = 8;
    const UNAVAILABLE: i32 = 14;
    match code {
        UNAVAILABLE if message.contains("no leader") => Failure::Refused,
        UNAVAILABLE | DEADLINE_EXCEEDED => Failure::Unknown,
        // "context deadline exceeded": the gateway's own wait for a proposal ran out.
        UNKNOWN if message.contains("deadline exceeded") => Failure::Unknown,
        RESOURCE_EXHAUSTED if message.contains("too many requests") => Failure::Refused,
        _ => Failure::Final,
    }
}

/// Whether a request of kind `idem` whose attempt failed with `failure` may be sent to
/// the next member.
pub(crate) fn may_try_next(idem: Idempotence, failure: Failure) -> bool {
    match failure {
        Failure::NotSent | Failure::Refused => true,
        Failure::Unknown => idem != Idempotence::Unguarded,
        Failure::Final => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcds_unavailable_answers_are_refusals_or_unknown_outcomes() {
        assert_eq!(
            classify_server_error(14, "etcdserver: no leader"),
            Failure::Refused
        );
        assert_eq!(
            classify_server_error(14, "etcdserver: request timed out"),
            Failure::Unknown
        );
        assert_eq!(
            classify_server_error(14, "etcdserver: leader changed"),
            Failure::Unknown
        );
        assert_eq!(
            classify_server_error(2, "context deadline exceeded"),
            Failure::Unknown
        );
        assert_eq!(
            classify_server_error(11, "etcdserver: mvcc: required revision has been compacted"),
            Failure::Final
        );
        assert_eq!(
            classify_server_error(3, "etcdserver: request is too large"),
            Failure::Final
        );
    }

    #[test]
    fn only_requests_that_cannot_apply_twice_move_on_after_an_unknown_outcome() {
        use Idempotence::*;
        for idem in [Read, Guarded, Unguarded] {
            assert!(may_try_next(idem, Failure::NotSent), "{idem:?}");
            assert!(may_try_next(idem, Failure::Refused), "{idem:?}");
            assert!(!may_try_next(idem, Failure::Final), "{idem:?}");
        }
        assert!(may_try_next(Read, Failure::Unknown));
        assert!(may_try_next(Guarded, Failure::Unknown));
        assert!(!may_try_next(Unguarded, Failure::Unknown));
    }
}
