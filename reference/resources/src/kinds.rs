//! The built-in kinds: one file per kind under `kinds/<group>/`, each holding the kind's
//! registry entry (`INFO`) and its [`Strategy`](crate::strategy::Strategy). Adding a
//! built-in kind is its file plus its name in the list below.

/// Declares each group's kind modules and [`BUILTIN`], the registry table, from one
/// list (so the two cannot disagree).
macro_rules! kinds {
    ($($group:ident: [$($kind:ident),* $(,)?]),* $(,)?) => {
        $(pub mod $group {
            $(pub mod $kind;)*
        })*

        /// Every built-in kind, in discovery order (core first, then each group as
        /// upstream lists its resources).
        pub(crate) static BUILTIN: &[crate::ResourceInfo] = &[$($($group::$kind::INFO,)*)*];
    };
}

kinds! {
    core: [
        componentstatus,
        configmap,
        endpoints,
        event,
        namespace,
        node,
        persistentvolumeclaim,
        persistentvolume,
        pod,
        replicationcontroller,
        secret,
        serviceaccount,
        service,
    ],
    apps: [
        controllerrevision,
        daemonset,
        deployment,
        replicaset,
        statefulset,
    ],
    batch: [
        job,
        cronjob,
    ],
    coordination: [
        lease,
    ],
    discovery: [
        endpointslice,
    ],
    policy: [
        poddisruptionbudget,
    ],
    events: [
        event,
    ],
    rbac: [
        clusterrolebinding,
        clusterrole,
        rolebinding,
        role,
    ],
    apiextensions: [
        customresourcedefinition,
    ],
    certificates: [
        certificatesigningrequest,
    ],
    authentication: [
        selfsubjectreview,
        tokenreview,
    ],
    authorization: [
        localsubjectaccessreview,
        selfsubjectaccessreview,
        selfsubjectrulesreview,
        subjectaccessreview,
    ],
}
