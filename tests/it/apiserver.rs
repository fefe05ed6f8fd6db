//! The API server's REST semantics: optimistic concurrency, generateName, graceful deletion,
//! watches from a resourceVersion and 410 Gone after compaction, selectors, validation.

use std::sync::Arc;

use kubesim::api::decode::decode_documents;
use kubesim::api::time::Epoch;
use kubesim::api::{FieldSelector, Kind, LabelSelector, Object};
use kubesim::apiserver::{ApiError, ApiServer, DeleteOptions, WatchEventType, WatchSpec, WatchStart};
use kubesim::sim::{ComponentId, SimTime};

fn server() -> ApiServer {
    let mut api = ApiServer::new(Epoch::default(), 1);
    for ns in ["default", "kube-system"] {
        api.create(obj(&format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n")))
            .expect("namespace");
    }
    api
}

fn obj(yaml: &str) -> Object {
    decode_documents(yaml).expect("valid manifest").remove(0)
}

fn pod(name: &str) -> Object {
    obj(&format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{app: web}}}}\nspec: {{containers: [{{name: c, image: nginx:1.27}}]}}\n"))
}

#[test]
fn revisions_and_resource_versions_follow_etcd() {
    let mut api = ApiServer::new(Epoch::default(), 1);
    assert_eq!(api.revision(), 1);
    let ns = api.create(obj("apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n")).unwrap();
    assert_eq!(ns.resource_version(), 2, "the first write is revision 2");
    let p = api.create(pod("a")).unwrap();
    assert_eq!(p.resource_version(), 3);
    assert_eq!(api.store().get("/registry/pods/default/a").unwrap().mod_revision, 3);
}

#[test]
fn create_defaults_and_admits() {
    let mut api = server();
    let p = api.create(pod("a")).unwrap();
    let p = p.as_type::<k8s_openapi::api::core::v1::Pod>().unwrap();
    let spec = p.spec.as_ref().unwrap();
    assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
    assert_eq!(spec.termination_grace_period_seconds, Some(30));
    assert_eq!(spec.scheduler_name.as_deref(), Some("default-scheduler"));
    assert_eq!(spec.containers[0].image_pull_policy.as_deref(), Some("IfNotPresent"));
    let tols: Vec<_> = spec
        .tolerations
        .as_ref()
        .unwrap()
        .iter()
        .map(|t| (t.key.clone().unwrap(), t.toleration_seconds))
        .collect();
    assert_eq!(
        tols,
        [
            ("node.kubernetes.io/not-ready".to_string(), Some(300)),
            ("node.kubernetes.io/unreachable".to_string(), Some(300))
        ]
    );
    assert_eq!(p.status.as_ref().unwrap().phase.as_deref(), Some("Pending"));
    assert_eq!(p.status.as_ref().unwrap().qos_class.as_deref(), Some("BestEffort"));
    assert_eq!(p.metadata.uid.as_ref().unwrap().len(), 36);
    assert_eq!(p.metadata.creation_timestamp.as_ref().unwrap().0.to_rfc3339(), "2025-01-01T00:00:00+00:00");
}

#[test]
fn already_exists_and_stale_updates_conflict() {
    let mut api = server();
    let first = api.create(pod("a")).unwrap();
    assert_eq!(
        api.create(pod("a")).unwrap_err(),
        ApiError::AlreadyExists { resource: "pods".into(), name: "a".into() }
    );
    let mut changed = (*first).clone();
    changed.meta_mut().labels.as_mut().unwrap().insert("v".into(), "2".into());
    let second = api.update(changed.clone()).unwrap();
    assert!(second.resource_version() > first.resource_version());
    // The same stale object again: 409 with upstream's message.
    let err = api.update(changed).unwrap_err();
    assert_eq!(err.code(), 409);
    assert_eq!(
        err.to_string(),
        "Operation cannot be fulfilled on pods \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
}

#[test]
fn an_update_that_changes_nothing_is_not_written() {
    let mut api = server();
    let p = api.create(pod("a")).unwrap();
    let rev = api.revision();
    let same = api.update((*p).clone()).unwrap();
    assert_eq!(api.revision(), rev);
    assert_eq!(same.resource_version(), p.resource_version());
}

#[test]
fn generate_name_uses_the_upstream_alphabet() {
    let mut api = server();
    let mut o = pod("x");
    o.meta_mut().name = None;
    o.meta_mut().generate_name = Some("web-".into());
    let created = api.create(o).unwrap();
    let suffix = created.name().strip_prefix("web-").unwrap();
    assert_eq!(suffix.len(), 5);
    assert!(suffix.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)), "{suffix}");
}

#[test]
fn bound_pods_are_deleted_gracefully_unbound_ones_at_once() {
    let mut api = server();
    api.create(pod("unbound")).unwrap();
    api.delete(Kind::Pod, Some("default"), "unbound", DeleteOptions::default()).unwrap();
    assert!(api.get(Kind::Pod, Some("default"), "unbound").unwrap_err().is_not_found());

    api.create(pod("bound")).unwrap();
    api.bind("default", "bound", "worker-1").unwrap();
    let marked = api.delete(Kind::Pod, Some("default"), "bound", DeleteOptions::default()).unwrap();
    assert!(marked.meta().deletion_timestamp.is_some());
    assert_eq!(marked.meta().deletion_grace_period_seconds, Some(30));
    assert!(api.get(Kind::Pod, Some("default"), "bound").is_ok(), "still there, Terminating");
    api.delete(Kind::Pod, Some("default"), "bound", DeleteOptions::now()).unwrap();
    assert!(api.get(Kind::Pod, Some("default"), "bound").is_err());
}

#[test]
fn binding_twice_conflicts() {
    let mut api = server();
    api.create(pod("a")).unwrap();
    api.bind("default", "a", "n1").unwrap();
    let err = api.bind("default", "a", "n2").unwrap_err();
    assert_eq!(err.code(), 409);
    assert!(err.to_string().contains("already assigned to node \"n1\""), "{err}");
}

#[test]
fn watch_from_a_resource_version_replays_in_order_then_410_after_compaction() {
    let mut api = server();
    let start = api.revision();
    api.create(pod("a")).unwrap();
    api.create(pod("b")).unwrap();
    api.delete(Kind::Pod, Some("default"), "a", DeleteOptions::default()).unwrap();
    let me = ComponentId(7);
    api.watch(me, WatchSpec::all(Kind::Pod), WatchStart::After(start)).unwrap();
    let events = api.take_deliveries();
    let seen: Vec<(WatchEventType, String, i64)> = events
        .iter()
        .map(|(_, e)| (e.kind, e.object.name().to_string(), e.object.resource_version()))
        .collect();
    assert_eq!(
        seen.iter().map(|s| (s.0, s.1.as_str())).collect::<Vec<_>>(),
        [(WatchEventType::Added, "a"), (WatchEventType::Added, "b"), (WatchEventType::Deleted, "a"),]
    );
    assert!(seen.windows(2).all(|w| w[0].2 < w[1].2), "in revision order: {seen:?}");
    // Two compaction ticks: the second compacts at the revision seen by the first.
    api.compaction_tick();
    api.create(pod("c")).unwrap();
    api.compaction_tick();
    let err = api.watch(me, WatchSpec::all(Kind::Pod), WatchStart::After(start)).unwrap_err();
    assert_eq!(err.code(), 410);
    assert!(err.to_string().starts_with("too old resource version:"), "{err}");
}

#[test]
fn kubelets_only_hear_about_their_own_pods() {
    let mut api = server();
    let k1 = ComponentId(1);
    let k2 = ComponentId(2);
    api.watch(k1, WatchSpec::with_fields(Kind::Pod, "spec.nodeName=n1"), WatchStart::Now).unwrap();
    api.watch(k2, WatchSpec::with_fields(Kind::Pod, "spec.nodeName=n2"), WatchStart::Now).unwrap();
    api.create(pod("a")).unwrap();
    assert!(api.take_deliveries().is_empty(), "an unbound pod concerns no kubelet");
    api.bind("default", "a", "n1").unwrap();
    let d = api.take_deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].0, k1);
    assert_eq!(d[0].1.kind, WatchEventType::Added, "the pod starts matching n1's selector");
}

#[test]
fn list_with_label_and_field_selectors() {
    let mut api = server();
    api.create(pod("a")).unwrap();
    api.create(pod("b")).unwrap();
    api.bind("default", "b", "worker-1").unwrap();
    let by_node = api
        .list(
            Kind::Pod,
            None,
            &LabelSelector::everything(),
            &FieldSelector::parse("spec.nodeName=worker-1").unwrap(),
        )
        .unwrap();
    assert_eq!(by_node.items.iter().map(|o| o.name()).collect::<Vec<_>>(), ["b"]);
    let by_label = api
        .list(
            Kind::Pod,
            Some("default"),
            &LabelSelector::parse("app=web").unwrap(),
            &FieldSelector::everything(),
        )
        .unwrap();
    assert_eq!(by_label.items.len(), 2);
    assert_eq!(by_label.revision, api.revision());
    let err = api
        .list(Kind::Pod, None, &LabelSelector::everything(), &FieldSelector::parse("spec.bogus=x").unwrap())
        .unwrap_err();
    assert_eq!(err.code(), 400);
}

#[test]
fn validation_and_missing_namespaces_are_rejected_with_upstream_messages() {
    let mut api = server();
    let err = api
        .create(obj("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n"))
        .unwrap_err();
    assert_eq!(err.code(), 422);
    assert_eq!(err.to_string(), "Pod \"p\" is invalid: spec.containers[0].image: Required value");
    let err = api.create(obj("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: nope}\nspec: {containers: [{name: c, image: x}]}\n")).unwrap_err();
    assert_eq!(err.to_string(), "namespaces \"nope\" not found");
}

#[test]
fn objects_are_shared_between_revisions_not_copied() {
    let mut api = server();
    let created = api.create(pod("a")).unwrap();
    let stored = api.get(Kind::Pod, Some("default"), "a").unwrap();
    assert!(Arc::ptr_eq(&created, &stored));
    let _ = SimTime::ZERO;
}

#[test]
fn a_second_delete_may_only_shorten_the_grace_period() {
    let mut api = server();
    api.create(pod("p")).unwrap();
    api.bind("default", "p", "n1").unwrap();
    let first = api.delete(Kind::Pod, Some("default"), "p", DeleteOptions::default()).unwrap();
    let deadline = first.meta().deletion_timestamp.clone().unwrap().0;
    let generation = first.meta().generation;
    // Longer or equal: nothing changes.
    let same = api
        .delete(
            Kind::Pod,
            Some("default"),
            "p",
            DeleteOptions { grace_period_seconds: Some(60), ..Default::default() },
        )
        .unwrap();
    assert_eq!(same.resource_version(), first.resource_version());
    // Shorter: the deadline moves by the difference (old − 30s + 10s), generation unchanged.
    let shorter = api
        .delete(
            Kind::Pod,
            Some("default"),
            "p",
            DeleteOptions { grace_period_seconds: Some(10), ..Default::default() },
        )
        .unwrap();
    assert_eq!(shorter.meta().deletion_grace_period_seconds, Some(10));
    assert_eq!(
        shorter.meta().deletion_timestamp.clone().unwrap().0,
        deadline - k8s_openapi::chrono::Duration::seconds(20)
    );
    assert_eq!(shorter.meta().generation, generation);
}

#[test]
fn a_negative_grace_period_becomes_one_second() {
    let mut api = server();
    api.create(pod("p")).unwrap();
    api.bind("default", "p", "n1").unwrap();
    let marked = api
        .delete(
            Kind::Pod,
            Some("default"),
            "p",
            DeleteOptions { grace_period_seconds: Some(-5), ..Default::default() },
        )
        .unwrap();
    assert_eq!(marked.meta().deletion_grace_period_seconds, Some(1));
}

#[test]
fn finalizers_hold_deletion_until_removed() {
    let mut api = server();
    let mut cm =
        obj("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, finalizers: [example.com/hold]}\n");
    cm = (*api.create(cm).unwrap()).clone();
    let marked = api.delete(Kind::ConfigMap, Some("default"), "c", DeleteOptions::default()).unwrap();
    assert!(marked.meta().deletion_timestamp.is_some());
    assert_eq!(marked.meta().deletion_grace_period_seconds, Some(0));
    let _ = cm;
    let mut released = (*marked).clone();
    released.meta_mut().finalizers = None;
    api.update(released).unwrap();
    assert!(api.get(Kind::ConfigMap, Some("default"), "c").unwrap_err().is_not_found());
}

#[test]
fn an_object_leaving_a_watch_selector_is_deleted_with_its_previous_state() {
    let mut api = server();
    api.create(pod("a")).unwrap();
    let me = ComponentId(3);
    api.watch(
        me,
        WatchSpec { labels: LabelSelector::parse("app=web").unwrap(), ..WatchSpec::all(Kind::Pod) },
        WatchStart::Now,
    )
    .unwrap();
    let mut relabeled = (*api.get(Kind::Pod, Some("default"), "a").unwrap()).clone();
    relabeled.meta_mut().labels = Some([("app".to_string(), "db".to_string())].into());
    let written = api.update(relabeled).unwrap();
    let d = api.take_deliveries();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].1.kind, WatchEventType::Deleted);
    assert_eq!(d[0].1.object.labels().unwrap()["app"], "web", "the last state that matched");
    assert_eq!(d[0].1.object.resource_version(), written.resource_version());
}

#[test]
fn an_etcd_snapshot_restore_rolls_the_keyspace_back_and_watchers_see_the_difference() {
    let mut api = server();
    api.create(pod("kept")).unwrap();
    api.create(pod("changed")).unwrap();
    api.create(pod("deleted")).unwrap();
    let (rev, keys) = api.snapshot_save("/opt/backup.db");
    assert_eq!(rev, api.revision());
    assert_eq!(keys, 5, "two namespaces and three pods");

    let mut changed: Object = (*api.get(Kind::Pod, Some("default"), "changed").unwrap()).clone();
    changed.meta_mut().labels.get_or_insert_with(Default::default).insert("app".into(), "other".into());
    api.update(changed).unwrap();
    api.delete(Kind::Pod, Some("default"), "deleted", DeleteOptions::now()).unwrap();
    api.create(pod("created")).unwrap();

    let watcher = ComponentId(7);
    api.watch(watcher, WatchSpec::all(Kind::Pod), WatchStart::Now).unwrap();
    let before = api.revision();
    let summary = api.snapshot_restore("/opt/backup.db").expect("saved");
    assert_eq!((summary.deleted, summary.recreated, summary.reverted), (1, 1, 1));
    assert!(api.revision() > before, "the revision only moves forward");

    let names: Vec<String> = api.list_all(Kind::Pod).iter().map(|o| o.name().to_string()).collect();
    assert_eq!(names, ["changed", "deleted", "kept"]);
    let reverted = api.get(Kind::Pod, Some("default"), "changed").unwrap();
    assert_eq!(reverted.labels().and_then(|l| l.get("app")).map(String::as_str), Some("web"));
    assert_eq!(reverted.resource_version(), api.store().mod_revision("/registry/pods/default/changed"));

    let mut seen: Vec<(WatchEventType, String)> =
        api.take_deliveries().into_iter().map(|(_, ev)| (ev.kind, ev.object.name().to_string())).collect();
    seen.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        seen,
        [
            (WatchEventType::Modified, "changed".to_string()),
            (WatchEventType::Deleted, "created".to_string()),
            (WatchEventType::Added, "deleted".to_string()),
        ]
    );
    assert!(api.snapshot_restore("/opt/none.db").is_none());
}

#[test]
fn created_objects_get_random_version_4_uids() {
    let mut api = server();
    let a = api.create(pod("a")).unwrap();
    let b = api.create(pod("b")).unwrap();
    for uid in [a.uid(), b.uid()] {
        let groups: Vec<&str> = uid.split('-').collect();
        assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{uid}");
        assert!(uid.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)), "{uid}");
        assert!(groups[2].starts_with('4'), "version 4: {uid}");
        assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "RFC 4122 variant: {uid}");
    }
    assert_ne!(a.uid(), b.uid());
}
