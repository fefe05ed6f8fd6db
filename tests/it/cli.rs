//! The command line: exit statuses, error messages that point at the input, kubectl-like output.

use crate::common::{kubesim, scenario_file, stderr, stdout};

const MINIMAL: &str = "name: t\nseed: 1\nuntil: 30s\nnodes:\n  - {name: worker, count: 2, capacity: {cpu: \"2\", memory: 4Gi}}\n";

#[test]
fn run_exits_zero_when_expectations_hold() {
    let o = kubesim(&["run", "scenarios/quickstart.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Successfully assigned default/web-"), "{out}");
    assert!(out.contains("5/5 expectations passed"), "{out}");
    assert!(out.lines().last().unwrap().starts_with("event-hash: "));
}

#[test]
fn run_exits_one_when_an_expectation_fails() {
    let text =
        format!("{MINIMAL}expect:\n  - {{at: 20s, node: worker-1, condition: Ready, status: \"False\"}}\n");
    let (_d, p) = scenario_file(&text);
    let o = kubesim(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o)
            .contains("FAIL  at 20s: node worker-1 Ready=False\n        found: Ready=True (KubeletReady)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn unknown_scenario_keys_are_reported_with_line_and_column() {
    let text = MINIMAL.replace("seed: 1", "seed: 1\nuntill: 5m");
    let (_d, p) = scenario_file(&text);
    let o = kubesim(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("scenario.yaml:3:1: untill: unknown field \"untill\""), "{}", stderr(&o));
}

#[test]
fn unknown_manifest_fields_point_into_the_scenario() {
    let text = format!("{MINIMAL}objects:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {{name: p}}\n    spec:\n      containers:\n        - name: c\n          imagee: nginx\n");
    let (_d, p) = scenario_file(&text);
    let o = kubesim(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("scenario.yaml:13:11: objects[0].spec.containers[0].imagee: strict decoding error: unknown field \"spec.containers[0].imagee\""), "{err}");
}

#[test]
fn bad_values_name_the_field_and_what_was_expected() {
    for (text, expected) in [
        (
            MINIMAL.replace("30s", "30"),
            "until: invalid duration 30: a bare number has no unit; write 30s or 30ms",
        ),
        (MINIMAL.replace("cpu: \"2\"", "cpu: \"two\""), "nodes[0].capacity.cpu: invalid quantity \"two\""),
        (
            format!("{MINIMAL}timeline:\n  - {{at: 5s, action: explode, node: worker-1}}\n"),
            "timeline[0].action: unknown action \"explode\"",
        ),
        (
            format!("{MINIMAL}timeline:\n  - {{at: 5s, action: power-off, node: worker-9}}\n"),
            "timeline[0].node: no node named \"worker-9\"",
        ),
        (
            format!("{MINIMAL}timeline:\n  - {{at: 5s, action: power-off, node: worker-1, replicas: 3}}\n"),
            "action power-off does not take \"replicas\"",
        ),
        (
            format!("{MINIMAL}expect:\n  - {{at: 5m, node: worker-1, condition: Ready, status: \"True\"}}\n"),
            "checked at 5m but the scenario ends at 30s",
        ),
        (format!("{MINIMAL}objects:\n  - {{file: missing.yaml}}\n"), "cannot read manifest file"),
        (
            "name: t\nuntil: 1m\nnodes: [{name: Bad_Name}]\n".to_string(),
            "nodes[0].name: \"Bad_Name\" is not a valid node name",
        ),
        ("name: [unclosed\n".to_string(), "scenario.yaml:"),
    ] {
        let (_d, p) = scenario_file(&text);
        let o = kubesim(&["validate", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{text}");
        assert!(stderr(&o).contains(expected), "expected {expected:?} in {:?}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
}

#[test]
fn a_missing_scenario_file_is_a_usage_error() {
    let o = kubesim(&["run", "no/such/file.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/file.yaml: cannot read scenario file"), "{}", stderr(&o));
}

#[test]
fn invalid_input_leaves_no_output_behind() {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("results");
    let (_d, p) = scenario_file("name: t\nuntil: nope\n");
    let o = kubesim(&["run", p.to_str().unwrap(), "--out", target.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!target.exists());
}

#[test]
fn run_out_writes_every_file() {
    let out = tempfile::tempdir().unwrap();
    let o =
        kubesim(&["run", "scenarios/node-failure.yaml", "--quiet", "--out", out.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let pods = std::fs::read_to_string(out.path().join("pods.csv")).unwrap();
    assert!(pods.starts_with("namespace,name,owner,node,created_ms,scheduled_ms,started_ms,ready_ms,deletion_ms,deleted_ms,phase,restarts\n"));
    assert!(pods.contains(",ReplicaSet/web,worker-2,0,5,"), "{pods}");
    let taints = std::fs::read_to_string(out.path().join("node_taints.csv")).unwrap();
    assert!(taints.contains(",worker-2,add,node.kubernetes.io/unreachable,,NoExecute"), "{taints}");
    let conds = std::fs::read_to_string(out.path().join("node_conditions.csv")).unwrap();
    assert!(conds.contains(",worker-2,Ready,Unknown,NodeStatusUnknown"), "{conds}");
    let summary = std::fs::read_to_string(out.path().join("summary.yaml")).unwrap();
    assert!(summary.contains("outcome: completed") && summary.contains("event_hash:"), "{summary}");
    let events = std::fs::read_to_string(out.path().join("events.csv")).unwrap();
    assert!(events.contains("scenario,Warning,PowerOff,Node,,worker-2"), "{events}");
    assert!(!out.path().join(".kubesim-staging").exists());
}

#[test]
fn get_prints_kubectl_tables() {
    let o = kubesim(&["get", "nodes", "scenarios/quickstart.yaml", "--at", "30s"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let expected = "NAME            STATUS   ROLES           AGE   VERSION\n\
                    control-plane   Ready    control-plane   30s   v1.34.0\n\
                    worker-1        Ready    <none>          30s   v1.34.0\n\
                    worker-2        Ready    <none>          30s   v1.34.0\n\
                    worker-3        Ready    <none>          30s   v1.34.0\n";
    assert_eq!(stdout(&o), expected);
    let o = kubesim(&["get", "pods", "scenarios/quickstart.yaml", "--at", "2s", "-o", "wide"]);
    let out = stdout(&o);
    assert!(out.starts_with("NAME        READY   STATUS              RESTARTS   AGE   IP           NODE       NOMINATED NODE   READINESS GATES\n"), "{out}");
    assert!(out.contains("0/1     ContainerCreating   0          2s    10.244."), "{out}");
    let o = kubesim(&["get", "pod", "nope", "scenarios/quickstart.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("Error from server (NotFound): pods \"nope\" not found"));
}

#[test]
fn get_yaml_is_a_genuine_object() {
    let o = kubesim(&["get", "rs", "web", "scenarios/quickstart.yaml", "--at", "10s", "-o", "yaml"]);
    let out = stdout(&o);
    assert!(out.starts_with("apiVersion: apps/v1\nkind: ReplicaSet\n"), "{out}");
    assert!(out.contains("readyReplicas: 3"), "{out}");
}

#[test]
fn etcdctl_lists_registry_keys_like_etcdctl() {
    let o = kubesim(&[
        "etcdctl",
        "scenarios/quickstart.yaml",
        "--at",
        "10s",
        "get",
        "/registry/minions/",
        "--prefix",
        "--keys-only",
    ]);
    assert_eq!(
        stdout(&o),
        "/registry/minions/control-plane\n\n/registry/minions/worker-1\n\n/registry/minions/worker-2\n\n/registry/minions/worker-3\n\n"
    );
    let o = kubesim(&[
        "etcdctl",
        "scenarios/quickstart.yaml",
        "--at",
        "1s",
        "get",
        "/registry/services/specs/default/kubernetes",
    ]);
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "/registry/services/specs/default/kubernetes\n{\"apiVersion\":\"v1\",\"kind\":\"Service\""
        ),
        "{out}"
    );
    assert!(out.contains("\"clusterIP\":\"10.96.0.1\""));
}

#[test]
fn hitting_the_event_bound_is_reported_not_a_hang() {
    let o = kubesim(&["run", "scenarios/quickstart.yaml", "--quiet", "--max-events", "50"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("STOPPED: reached the event limit (50 events)"), "{out}");
    assert!(out.contains("the run stopped at"), "pending expectations say why: {out}");
}

#[test]
fn unmodelled_scheduling_fields_are_named_in_a_warning() {
    let text = format!(
        "{MINIMAL}objects:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {{name: p}}\n    spec:\n      volumes: [{{name: data, persistentVolumeClaim: {{claimName: data}}}}]\n      containers: [{{name: c, image: nginx}}]\n"
    );
    let (_d, p) = scenario_file(&text);
    let o = kubesim(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: ")
            && stderr(&o)
                .contains("Pod p: spec.volumes (persistentVolumeClaim / ephemeral): VolumeBinding and the volume plugins are not modelled"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn iptables_save_prints_the_rules_kube_proxy_installed() {
    let o = kubesim(&[
        "iptables-save",
        "scenarios/services/no-endpoints.yaml",
        "--node",
        "worker-1",
        "--at",
        "50s",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    // The selector typo: no endpoints, so a filter-table REJECT; upstream's hash for the
    // `kubernetes` service chain.
    assert!(out.contains("*filter\n") && out.contains("*nat\n") && out.ends_with("COMMIT\n"), "{out}");
    assert!(out.contains("-A KUBE-SERVICES -m comment --comment \"default/web has no endpoints\""), "{out}");
    assert!(out.contains(":KUBE-SVC-NPX46M4PTMTKRN6Y - [0:0]"), "{out}");
    assert!(out.contains("--probability 0.5000000000 -j KUBE-SEP-"), "{out}");
    let nat = stdout(&kubesim(&[
        "iptables-save",
        "scenarios/services/no-endpoints.yaml",
        "--node",
        "worker-1",
        "--at",
        "50s",
        "-t",
        "nat",
    ]));
    assert!(nat.contains("*nat\n") && !nat.contains("*filter"), "{nat}");
    let o = kubesim(&["iptables-save", "scenarios/services/no-endpoints.yaml", "--node", "worker-9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no node named \"worker-9\""), "{}", stderr(&o));
}

#[test]
fn nslookup_answers_as_in_the_pod() {
    let o =
        kubesim(&["nslookup", "scenarios/services/dns.yaml", "web.prod", "--from", "client", "--at", "60s"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "Server:    10.96.0.10\nAddress 1: 10.96.0.10 kube-dns.kube-system.svc.cluster.local\n"
        ),
        "{out}"
    );
    assert!(out.contains(" web.prod.svc.cluster.local\n"), "{out}");
    // The short name means web.default, which does not exist.
    let o = kubesim(&["nslookup", "scenarios/services/dns.yaml", "web", "--from", "client", "--at", "60s"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("nslookup: can't resolve 'web'"), "{}", stdout(&o));
    // CoreDNS scaled to zero at 85s: the query times out.
    let o =
        kubesim(&["nslookup", "scenarios/services/dns.yaml", "web.prod", "--from", "client", "--at", "110s"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn an_unknown_scheduler_plugin_is_reported_with_its_line() {
    let text = format!(
        "{MINIMAL}config:\n  scheduler:\n    profiles:\n      - schedulerName: default-scheduler\n        plugins:\n          filter:\n            enabled:\n              - name: NodeAfinity\n"
    );
    let (_d, p) = scenario_file(&text);
    let o = kubesim(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("scenario.yaml:13:17: config.scheduler.profiles[0].plugins.filter.enabled[0].name: plugin \"NodeAfinity\" does not exist; known plugins: BestFit, DefaultBinder,"),
        "{err}"
    );
}

#[test]
fn bad_plugin_args_name_the_field() {
    let text = format!(
        "{MINIMAL}config:\n  scheduler:\n    profiles:\n      - pluginConfig:\n          - name: NodeResourcesFit\n            args: {{scoringStrategy: {{type: MostAllocated, resources: [{{name: cpu, weight: 101}}]}}}}\n"
    );
    let (_d, p) = scenario_file(&text);
    let o = kubesim(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(
            "config.scheduler.profiles[0].pluginConfig[0].args: initializing plugin \"NodeResourcesFit\""
        ),
        "{err}"
    );
    assert!(err.contains("scoringStrategy.resources[0].weight: Invalid value: 101: resource weight of cpu not in valid range (0, 100]"), "{err}");
}

#[test]
fn a_missing_scheduler_config_file_is_named() {
    let text = format!("{MINIMAL}config:\n  scheduler: {{file: no-such-config.yaml}}\n");
    let (_d, p) = scenario_file(&text);
    let o = kubesim(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("config.scheduler.file: cannot read scheduler configuration")
            && err.contains("no-such-config.yaml"),
        "{err}"
    );
}

#[test]
fn explain_shows_filter_verdicts_and_weighted_scores() {
    let o =
        kubesim(&["explain", "scenarios/scheduler/pending-resources.yaml", "--pod", "big", "--at", "20s"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("attempt 1 at"), "{out}");
    assert!(out.contains("rejected by TaintToleration: node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"), "{out}");
    assert!(out.contains("rejected by NodeResourcesFit: Insufficient cpu"), "{out}");
    assert!(out.contains("→ unschedulable: 0/3 nodes are available:"), "{out}");
    let o = kubesim(&["explain", "scenarios/quickstart.yaml", "--pod", "web-fpp6n", "--at", "1m"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("score (normalized score × weight):") && out.contains("TaintToleration 100×3"),
        "{out}"
    );
    assert!(out.contains("← selected") && out.contains("→ bound to worker-2"), "{out}");
    let o = kubesim(&["explain", "scenarios/quickstart.yaml", "--pod", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no scheduling attempts for pod default/nope"), "{}", stderr(&o));
}

#[test]
fn run_decisions_writes_decisions_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = kubesim(&[
        "run",
        "scenarios/quickstart.yaml",
        "--quiet",
        "--decisions",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("decisions.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header
            .starts_with("time_ms,namespace,pod,attempt,node,feasible,failed_plugin,reason,TaintToleration,"),
        "{header}"
    );
    assert!(header.ends_with(",total,selected"), "{header}");
    let rows: Vec<&str> = lines.collect();
    // Three web pods, each examined on the four nodes; exactly one selected per pod.
    assert_eq!(rows.iter().filter(|r| r.contains(",default,web-")).count(), 12, "{csv}");
    assert_eq!(rows.iter().filter(|r| r.ends_with(",true")).count(), 3, "{csv}");
    assert!(rows.iter().any(|r| r.contains(",control-plane,false,TaintToleration,")), "{csv}");
    // --decisions needs --out.
    let o = kubesim(&["run", "scenarios/quickstart.yaml", "--decisions"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn run_step_without_a_terminal_is_a_plain_run() {
    let plain = crate::common::kubesim(&["run", "scenarios/quickstart.yaml"]);
    let step = crate::common::kubesim(&["run", "scenarios/quickstart.yaml", "--step"]);
    assert!(step.status.success());
    assert_eq!(crate::common::stdout(&plain), crate::common::stdout(&step));
}

#[test]
fn describe_covers_daemonsets_jobs_cronjobs_and_namespaces_as_kubectl_does() {
    let job =
        crate::common::kubesim(&["describe", "job", "pi", "scenarios/cka/jobs-cronjobs.yaml", "--at", "3m"]);
    let out = stdout(&job);
    assert!(job.status.success(), "{out}");
    for want in [
        "Selector:         batch.kubernetes.io/controller-uid=",
        "Completions:      5",
        "Pods Statuses:    0 Active (0 Ready) / 5 Succeeded / 0 Failed",
        "job-name=pi",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let ds = crate::common::kubesim(&[
        "describe",
        "ds",
        "fluentd-elasticsearch",
        "-n",
        "kube-system",
        "scenarios/cka/daemonset.yaml",
        "--at",
        "1m",
    ]);
    let out = stdout(&ds);
    assert!(out.contains("Desired Number of Nodes Scheduled: ") && out.contains("Pods Status:"), "{out}");
    let cj = crate::common::kubesim(&[
        "describe",
        "cronjob",
        "hello",
        "scenarios/cka/jobs-cronjobs.yaml",
        "--at",
        "3m",
    ]);
    let out = stdout(&cj);
    assert!(
        out.contains("Schedule:")
            && out.contains("Concurrency Policy:")
            && out.contains("Last Schedule Time:"),
        "{out}"
    );
    let ns = crate::common::kubesim(&["describe", "ns", "default", "scenarios/quickstart.yaml"]);
    assert!(
        stdout(&ns).contains("Status:       Active\n\nNo resource quota.\n\nNo LimitRange resource."),
        "{}",
        stdout(&ns)
    );
}

#[test]
fn get_all_json_and_group_qualified_resources_work_as_in_kubectl() {
    let all = crate::common::kubesim(&["get", "all", "scenarios/cka/etcd-registry.yaml", "--at", "1m"]);
    let out = stdout(&all);
    assert!(
        out.contains("\ndeployment.apps/nginx   2/2")
            && out.contains("service/kubernetes")
            && out.starts_with("NAME"),
        "{out}"
    );
    let grouped = crate::common::kubesim(&[
        "get",
        "deployments.apps",
        "scenarios/cka/etcd-registry.yaml",
        "--at",
        "1m",
    ]);
    assert!(stdout(&grouped).contains("nginx   2/2"), "{}", stdout(&grouped));
    let json = crate::common::kubesim(&[
        "get",
        "pods",
        "-o",
        "json",
        "scenarios/cka/etcd-registry.yaml",
        "--at",
        "1m",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("valid JSON");
    assert_eq!(v["kind"], "List");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(2));
}
