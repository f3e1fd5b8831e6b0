//! The rules that reason across resources, through the real binary: what counts as the scope
//! (other files, Kustomize builds, the config's repository), namespaces, and findings about a
//! namespace reported once per run. Single-file semantics are on each rule's page.

mod common;

use common::{check, tree};

const SELECT_NETWORK: &str = "--select=missing-network-policy,missing-default-deny";
const SELECT_SECRETS: &str = "--select=missing-pull-secret,dangling-pull-secret";

fn deployment(name: &str, namespace: Option<&str>, labels: &str, pod: &str) -> String {
    let namespace = namespace.map_or(String::new(), |ns| format!("  namespace: {ns}\n"));
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n{namespace}spec:\n  template:\n    metadata:\n      labels: {labels}\n    spec:\n{pod}      containers:\n      - {{name: app, image: registry.example.com/{name}:1.0}}\n"
    )
}

fn policy(name: &str, namespace: &str, spec: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec: {spec}\n"
    )
}

/// Findings as `rule path:line`.
fn found(dir: &std::path::Path, args: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = check(dir, args)
        .into_iter()
        .map(|(rule, path, line, _)| format!("{rule} {path}:{line}"))
        .collect();
    found.sort();
    found
}

#[test]
fn a_policy_in_another_file_covers_workloads_of_its_namespace_only() {
    let repo = tree(&[
        (
            "apps/web.yaml",
            &deployment("web", Some("shop"), "{app: web}", ""),
        ),
        (
            "apps/api.yaml",
            &deployment("api", Some("ops"), "{app: api}", ""),
        ),
        (
            "policies/shop.yaml",
            &(policy("deny", "shop", "{podSelector: {}}")
                + "---\n"
                + &policy("api", "shop", "{podSelector: {matchLabels: {app: api}}}")),
        ),
        // `ops` has a policy too (for other pods), so its workloads are judged one by one.
        (
            "policies/ops.yaml",
            &policy("other", "ops", "{podSelector: {matchLabels: {app: other}}}"),
        ),
    ]);
    assert_eq!(
        found(repo.path(), &[SELECT_NETWORK, "."]),
        [
            "missing-default-deny apps/api.yaml:5",
            "missing-network-policy apps/api.yaml:9",
        ]
    );
}

#[test]
fn a_missing_default_deny_is_reported_once_per_namespace() {
    let repo = tree(&[
        (
            "a/one.yaml",
            &deployment("one", Some("shop"), "{app: one}", ""),
        ),
        (
            "b/two.yaml",
            &deployment("two", Some("shop"), "{app: two}", ""),
        ),
        (
            "c/three.yaml",
            &deployment("three", None, "{app: three}", ""),
        ),
        ("c/four.yaml", &deployment("four", None, "{app: four}", "")),
    ]);
    let found = found(repo.path(), &["--select=missing-default-deny", "."]);
    // The first workload of each namespace in output order: `shop` at its namespace line,
    // `default` (no namespace written) at the pod labels.
    assert_eq!(
        found,
        [
            "missing-default-deny a/one.yaml:5",
            "missing-default-deny c/four.yaml:8",
        ]
    );
}

#[test]
fn the_default_namespace_comes_from_config() {
    let workload = deployment("web", None, "{app: web}", "");
    let deny = policy("deny", "shop", "{podSelector: {}}");
    let repo = tree(&[("web.yaml", &workload), ("deny.yaml", &deny)]);
    // `default` has no policy at all: one finding for the namespace.
    assert_eq!(found(repo.path(), &[SELECT_NETWORK, "."]).len(), 1);
    let repo = tree(&[
        ("web.yaml", &workload),
        ("deny.yaml", &deny),
        (".pinnace.yaml", "default_namespace: shop\n"),
    ]);
    assert_eq!(
        found(repo.path(), &[SELECT_NETWORK, "."]),
        Vec::<String>::new()
    );
}

#[test]
fn egress_is_required_only_when_config_asks() {
    let files = [
        (
            "web.yaml",
            deployment("web", Some("shop"), "{app: web}", ""),
        ),
        (
            "deny.yaml",
            policy("deny", "shop", "{podSelector: {}, policyTypes: [Ingress]}"),
        ),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    let repo = tree(&files);
    assert_eq!(
        found(repo.path(), &[SELECT_NETWORK, "."]),
        Vec::<String>::new()
    );
    std::fs::write(
        repo.path().join(".pinnace.yaml"),
        "network_policies: {egress: true}\n",
    )
    .unwrap();
    assert_eq!(
        found(repo.path(), &[SELECT_NETWORK, "."]),
        [
            "missing-default-deny web.yaml:5",
            "missing-network-policy web.yaml:9",
        ]
    );
    std::fs::write(
        repo.path().join("deny.yaml"),
        policy(
            "deny",
            "shop",
            "{podSelector: {}, policyTypes: [Ingress, Egress]}",
        ),
    )
    .unwrap();
    assert_eq!(
        found(repo.path(), &[SELECT_NETWORK, "."]),
        Vec::<String>::new()
    );
}

#[test]
fn a_kustomize_namespace_places_workloads_and_policies() {
    let repo = tree(&[
        (
            "app/base/kustomization.yaml",
            "resources: [web.yaml, policy.yaml]\n",
        ),
        (
            "app/base/web.yaml",
            &deployment("web", None, "{app: web}", ""),
        ),
        (
            "app/base/policy.yaml",
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web}\nspec: {podSelector: {matchLabels: {app: web}}}\n",
        ),
        (
            "app/prod/kustomization.yaml",
            "namespace: shop\nresources: [../base]\n",
        ),
        // The default deny of `shop` lives apart from the app, in a raw file.
        (
            "platform/shop.yaml",
            &policy("deny", "shop", "{podSelector: {}}"),
        ),
        // A policy in `default` covers nothing of `shop`.
        (
            "platform/default.yaml",
            &policy("all", "default", "{podSelector: {}}"),
        ),
    ]);
    assert_eq!(
        found(repo.path(), &[SELECT_NETWORK, "."]),
        Vec::<String>::new()
    );
    std::fs::remove_file(repo.path().join("platform/shop.yaml")).unwrap();
    // The finding is at the overlay's `namespace:` line, which put the workload in `shop`.
    assert_eq!(
        found(repo.path(), &[SELECT_NETWORK, "."]),
        ["missing-default-deny app/prod/kustomization.yaml:1"]
    );
}

#[test]
fn checking_a_few_files_still_sees_the_repositorys_policies() {
    let repo = tree(&[
        (
            ".pinnace.yaml",
            "registries: {private: [registry.example.com]}\n",
        ),
        (
            "apps/web.yaml",
            &deployment(
                "web",
                Some("shop"),
                "{app: web}",
                "      serviceAccountName: web\n",
            ),
        ),
        (
            "policies/deny.yaml",
            &policy("deny", "shop", "{podSelector: {}}"),
        ),
        (
            "accounts/web.yaml",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\nimagePullSecrets: [{name: pull}]\n",
        ),
    ]);
    // As a pre-commit hook runs it: only the staged file is named.
    let args = [
        "--select=missing-network-policy,missing-default-deny,missing-pull-secret",
        "apps/web.yaml",
    ];
    assert_eq!(found(repo.path(), &args), Vec::<String>::new());
    // Without a config file and outside a git repository, the file is its own scope.
    std::fs::remove_file(repo.path().join(".pinnace.yaml")).unwrap();
    // (`shop` then has no policy at all: one finding for the namespace)
    let alone = ["missing-default-deny apps/web.yaml:5"];
    assert_eq!(
        found(repo.path(), &[SELECT_NETWORK, "apps/web.yaml"]),
        alone
    );
    // In a git repository, a file named on its own sees the whole repository.
    git2::Repository::init(repo.path()).unwrap();
    assert_eq!(
        found(repo.path(), &[SELECT_NETWORK, "apps/web.yaml"]),
        Vec::<String>::new()
    );
    // A folder named on its own is its own scope (where `shop` has no policy: one finding).
    assert_eq!(
        found(repo.path(), &[SELECT_NETWORK, "apps"]),
        ["missing-default-deny apps/web.yaml:5"]
    );
}

#[test]
fn a_service_account_in_another_file_passes_its_pull_secrets_on() {
    let config = "registries: {private: [registry.example.com]}\n";
    let account = |secrets: &str| {
        format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: builder, namespace: ci}}\n{secrets}"
        )
    };
    let pod = deployment(
        "build",
        Some("ci"),
        "{app: build}",
        "      serviceAccountName: builder\n",
    );
    let repo = tree(&[
        (".pinnace.yaml", config),
        ("ci/build.yaml", &pod),
        (
            "ci/account.yaml",
            &account("imagePullSecrets: [{name: pull}]\n"),
        ),
        // The same name in another namespace passes nothing on.
        (
            "ops/build.yaml",
            &pod.replace("namespace: ci", "namespace: ops"),
        ),
    ]);
    assert_eq!(
        found(repo.path(), &[SELECT_SECRETS, "."]),
        ["missing-pull-secret ops/build.yaml:13"]
    );
    std::fs::write(repo.path().join("ci/account.yaml"), account("")).unwrap();
    assert_eq!(
        found(repo.path(), &[SELECT_SECRETS, "."]),
        [
            "missing-pull-secret ci/build.yaml:13",
            "missing-pull-secret ops/build.yaml:13",
        ]
    );
}

#[test]
fn kustomize_renames_and_generated_secrets_still_resolve() {
    let pod = "      imagePullSecrets:\n      - name: regcred\n      - name: generated\n      - name: sealed\n      - name: nowhere\n";
    let repo = tree(&[
        (
            "app/base/kustomization.yaml",
            "resources: [web.yaml, secrets.yaml]\nsecretGenerator:\n- name: generated\n  type: kubernetes.io/dockerconfigjson\n  files: [.dockerconfigjson=config.json]\n",
        ),
        (
            "app/base/web.yaml",
            &deployment("web", None, "{app: web}", pod),
        ),
        (
            "app/base/secrets.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred}\ntype: kubernetes.io/dockerconfigjson\nsops: {version: 3.9.0}\n---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: sealed}\nspec: {encryptedData: {.dockerconfigjson: AgB}}\n",
        ),
        ("app/base/config.json", "{\"auths\": {}}\n"),
        (
            "app/prod/kustomization.yaml",
            "namePrefix: prod-\nnamespace: shop\nresources: [../base]\n",
        ),
    ]);
    // `regcred` became `prod-regcred` and `generated` `prod-generated-<hash>`, and Kustomize
    // rewrote those references. It renames the SealedSecret too, but leaves references to it
    // alone (it is not a `Secret` to Kustomize: kubectl kustomize does the same), so `sealed`
    // dangles in the cluster, like `nowhere`. Both are reported where the base writes them.
    assert_eq!(
        found(repo.path(), &["--select=dangling-pull-secret", "."]),
        [
            "dangling-pull-secret app/base/web.yaml:13",
            "dangling-pull-secret app/base/web.yaml:14",
        ]
    );
    let built = common::run(repo.path(), &["build", "app/prod"]);
    let built = String::from_utf8_lossy(&built.stdout);
    assert!(built.contains("- name: prod-regcred"), "{built}");
    assert!(built.contains("- name: prod-generated-"), "{built}");
    assert!(built.contains("- name: sealed"), "{built}");
}

#[test]
fn raw_files_are_complete_only_where_config_says_so() {
    let pod = deployment(
        "web",
        Some("shop"),
        "{app: web}",
        "      imagePullSecrets: [{name: regcred}]\n",
    );
    let repo = tree(&[
        ("clusters/prod/web.yaml", &pod),
        ("clusters/dev/web.yaml", &pod),
    ]);
    assert_eq!(
        found(repo.path(), &["--select=dangling-pull-secret", "."]),
        Vec::<String>::new()
    );
    std::fs::write(
        repo.path().join(".pinnace.yaml"),
        "overrides:\n- paths: [\"clusters/prod/**\"]\n  scope: complete\n",
    )
    .unwrap();
    assert_eq!(
        found(repo.path(), &["--select=dangling-pull-secret", "."]),
        ["dangling-pull-secret clusters/prod/web.yaml:11"]
    );
    // An ExternalSecret anywhere in the run that targets the name defines it.
    std::fs::write(
        repo.path().join("clusters/secrets.yaml"),
        "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata: {name: registry, namespace: shop}\nspec: {target: {name: regcred}}\n",
    )
    .unwrap();
    assert_eq!(
        found(repo.path(), &["--select=dangling-pull-secret", "."]),
        Vec::<String>::new()
    );
}

#[test]
fn a_build_sees_the_policies_and_accounts_of_other_builds() {
    let pod = "      serviceAccountName: web\n";
    let repo = tree(&[
        (
            ".pinnace.yaml",
            "registries: {private: [registry.example.com]}\n",
        ),
        (
            "apps/web/kustomization.yaml",
            "namespace: shop\nresources: [web.yaml]\n",
        ),
        (
            "apps/web/web.yaml",
            &deployment("web", None, "{app: web}", pod),
        ),
        // Another root, applied on its own, gives `shop` its default deny and the account.
        (
            "platform/shop/kustomization.yaml",
            "namespace: shop\nresources: [policy.yaml, account.yaml]\n",
        ),
        (
            "platform/shop/policy.yaml",
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec: {podSelector: {}}\n",
        ),
        (
            "platform/shop/account.yaml",
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\nimagePullSecrets: [{name: pull}]\n",
        ),
    ]);
    let args = [
        "--select=missing-network-policy,missing-default-deny,missing-pull-secret",
        ".",
    ];
    assert_eq!(found(repo.path(), &args), Vec::<String>::new());
    // Without the other root the same build is reported, each finding where its edit belongs
    // (`shop` then has no policy at all: one finding for the namespace).
    std::fs::remove_dir_all(repo.path().join("platform")).unwrap();
    assert_eq!(
        found(repo.path(), &args),
        [
            "missing-default-deny apps/web/kustomization.yaml:1",
            "missing-pull-secret apps/web/web.yaml:12",
        ]
    );
}
