//! Real manifests from the Kubernetes documentation load unchanged (block and flow style,
//! multi-document files), and the one invalid upstream file is rejected with its field path.
//! The files live in ../shared/manifests/kubernetes-website (not copied into this repo); set
//! KUBESIM_MANIFESTS to point elsewhere.

use std::path::PathBuf;

use kubesim::api::decode::decode_documents;
use kubesim::api::{defaults, validation, Object};

fn manifests_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KUBESIM_MANIFESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::common::repo().join("../shared/manifests/kubernetes-website"));
    dir.is_dir().then_some(dir)
}

fn yaml_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn upstream_documentation_manifests_load_unchanged() {
    let Some(dir) = manifests_dir() else {
        eprintln!("skipped: ../shared/manifests/kubernetes-website not present (set KUBESIM_MANIFESTS)");
        return;
    };
    let files = yaml_files(&dir);
    assert_eq!(files.len(), 46, "the folder's README lists 46 files");
    let mut loaded = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let rel = f.strip_prefix(&dir).unwrap().display().to_string();
        let result = decode_documents(&text);
        if rel == "pods/pod-with-node-affinity.yaml" {
            let err = result.expect_err("the README marks this file invalid").to_string();
            assert!(
                err.contains("spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"),
                "{err}"
            );
            continue;
        }
        let objects = result.unwrap_or_else(|e| panic!("{rel}: {e}"));
        for mut o in objects {
            defaults::apply(&mut o);
            let errors = validation::validate(&o);
            assert!(errors.is_empty(), "{rel}: {} {} invalid: {errors:?}", o.kind(), o.name());
            loaded += 1;
        }
    }
    assert!(loaded >= 50, "multi-document files expand: {loaded} objects");
}

#[test]
fn the_same_pod_in_block_and_flow_style_is_the_same_object() {
    let Some(dir) = manifests_dir() else { return };
    let load = |p: &str| -> Object {
        decode_documents(&std::fs::read_to_string(dir.join(p)).unwrap()).unwrap().remove(0)
    };
    let mut flow = load("pods/pod-with-affinity-preferred-weight.yaml");
    let mut block = load("pods/pod-with-affinity-anti-affinity.yaml");
    for o in [&mut flow, &mut block] {
        o.meta_mut().name = None;
        if let Object::Pod(p) = o {
            p.spec.as_mut().unwrap().containers[0].image = None;
        }
    }
    assert_eq!(flow, block);
}
