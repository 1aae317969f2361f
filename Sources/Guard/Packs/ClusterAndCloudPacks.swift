extension PolicyPack {
    static let kubernetesKubectl = PolicyPack(
        id: "kubernetes.kubectl", summary: "kubectl: deleting namespaces and resources, drain, scale to zero, forced replace",
        enabledByDefault: false, commands: ["kubectl", "oc"],
        safe: [{ Match.has($0, "--help", "--dry-run") }],
        rules: [
            PolicyRule(name: "delete-namespace", severity: .critical, reason: "Deleting a namespace deletes everything in it",
                       alternative: "Delete the resources you mean, one by one") {
                let verbs = Match.verbs($0, 2, skipping: Self.kubectlOptions)
                return verbs.first == "delete" && ["namespace", "namespaces", "ns"].contains(verbs.dropFirst().first ?? "")
            },
            PolicyRule(name: "delete-all", severity: .critical, reason: "kubectl delete --all / all deletes every matching resource", alternative: nil) {
                let verbs = Match.verbs($0, 2, skipping: Self.kubectlOptions)
                return verbs.first == "delete" && (verbs.last == "all" || Match.has($0, "--all", "--all-namespaces", "-A"))
            },
            PolicyRule(name: "delete", severity: .high, reason: "kubectl delete deletes cluster resources", alternative: "kubectl delete --dry-run=client first") {
                Match.verbs($0, 1, skipping: Self.kubectlOptions) == ["delete"]
            },
            PolicyRule(name: "replace-force", severity: .high, reason: "kubectl replace --force deletes and recreates resources", alternative: "kubectl apply") {
                Match.verbs($0, 1, skipping: Self.kubectlOptions) == ["replace"] && Match.has($0, "--force")
            },
            PolicyRule(name: "drain", severity: .medium, reason: "kubectl drain evicts every pod from a node", alternative: nil) {
                Match.verbs($0, 1, skipping: Self.kubectlOptions) == ["drain"]
            },
            PolicyRule(name: "scale-to-zero", severity: .medium, reason: "Scaling to zero replicas stops the workload", alternative: nil) {
                Match.verbs($0, 1, skipping: Self.kubectlOptions) == ["scale"] && $0.args.contains("--replicas=0")
            },
        ])

    static let kubectlOptions: Set<String> = ["-n", "--namespace", "--context", "--cluster", "--kubeconfig", "-l", "--selector", "-o", "--output"]

    static let kubernetesHelm = PolicyPack(
        id: "kubernetes.helm", summary: "Helm: uninstalling releases and rolling back", enabledByDefault: false, commands: ["helm"],
        safe: [{ Match.has($0, "--help", "--dry-run") }],
        rules: [
            PolicyRule(name: "uninstall", severity: .high, reason: "helm uninstall deletes a release and its resources", alternative: "helm uninstall --dry-run first") {
                ["uninstall", "delete", "del", "un"].contains(Match.verbs($0, 1, skipping: Self.kubectlOptions).first ?? "")
            },
            PolicyRule(name: "rollback", severity: .medium, reason: "helm rollback replaces the running release", alternative: nil) {
                Match.verbs($0, 1, skipping: Self.kubectlOptions) == ["rollback"]
            },
        ])

    static let cloudAWS = PolicyPack(
        id: "cloud.aws", summary: "AWS CLI: deleting buckets, objects, instances, databases, stacks and IAM entities",
        enabledByDefault: false, commands: ["aws"],
        safe: [{ Match.has($0, "help", "--dryrun", "--dry-run") }],
        rules: [
            PolicyRule(name: "rds-delete", severity: .critical, reason: "Deleting an RDS instance or cluster deletes the database", alternative: "Take a final snapshot") {
                let verbs = Match.verbs($0, 2, skipping: Self.awsOptions)
                return verbs.first == "rds" && (verbs.last?.hasPrefix("delete-db") ?? false)
            },
            PolicyRule(name: "s3-delete", severity: .high, reason: "Deletes S3 objects or buckets", alternative: "aws s3 rm --dryrun first") {
                let verbs = Match.verbs($0, 2, skipping: Self.awsOptions)
                return (verbs == ["s3", "rm"] && Match.has($0, "--recursive")) || verbs == ["s3", "rb"]
                    || (verbs.first == "s3api" && (verbs.last?.hasPrefix("delete-bucket") ?? false))
            },
            PolicyRule(name: "terminate", severity: .high, reason: "Terminates instances", alternative: "Stop them instead") {
                Match.verbs($0, 2, skipping: Self.awsOptions).last?.hasPrefix("terminate-") ?? false
            },
            PolicyRule(name: "delete", severity: .high, reason: "Deletes an AWS resource", alternative: nil) {
                let verbs = Match.verbs($0, 2, skipping: Self.awsOptions)
                return verbs.count == 2 && (verbs[1].hasPrefix("delete-") || verbs[1].hasPrefix("remove-") || verbs[1].hasPrefix("deregister-"))
            },
        ])

    static let awsOptions: Set<String> = ["--profile", "--region", "--output", "--endpoint-url", "--query"]

    static let cloudGCloud = PolicyPack(
        id: "cloud.gcloud", summary: "Google Cloud CLI: deleting projects and resources; gsutil rm -r and rb",
        enabledByDefault: false, commands: ["gcloud", "gsutil"],
        safe: [{ Match.has($0, "--help") }],
        rules: [
            PolicyRule(name: "project-delete", severity: .critical, reason: "Deleting a project deletes everything in it", alternative: nil) {
                let verbs = Match.verbs($0, 2, skipping: ["--project", "--account", "--format"])
                return $0.name == "gcloud" && verbs == ["projects", "delete"]
            },
            PolicyRule(name: "delete", severity: .high, reason: "Deletes a Google Cloud resource", alternative: nil) {
                $0.name == "gcloud" && Match.verbs($0, 4, skipping: ["--project", "--account", "--format", "--zone", "--region"]).contains("delete")
            },
            PolicyRule(name: "gsutil-delete", severity: .high, reason: "gsutil rm -r / rb deletes objects or buckets", alternative: nil) {
                let verbs = Match.verbs($0, 1)
                return $0.name == "gsutil" && ((verbs == ["rm"] && $0.hasFlag(short: "r")) || verbs == ["rb"])
            },
        ])

    static let cloudAzure = PolicyPack(
        id: "cloud.azure", summary: "Azure CLI: deleting resource groups and resources", enabledByDefault: false, commands: ["az"],
        safe: [{ Match.has($0, "--help", "-h") }],
        rules: [
            PolicyRule(name: "group-delete", severity: .critical, reason: "Deleting a resource group deletes everything in it", alternative: nil) {
                Match.verbs($0, 2, skipping: ["--subscription", "-g", "--resource-group", "-n", "--name"]) == ["group", "delete"]
            },
            PolicyRule(name: "delete", severity: .high, reason: "Deletes an Azure resource", alternative: nil) {
                Match.verbs($0, 4, skipping: ["--subscription", "-g", "--resource-group", "-n", "--name"]).contains { $0 == "delete" || $0 == "delete-batch" || $0 == "purge" }
            },
        ])

    static let infrastructureTerraform = PolicyPack(
        id: "infrastructure.terraform", summary: "Terraform and OpenTofu: destroy, auto-approved apply, state removal",
        enabledByDefault: false, commands: ["terraform", "tofu", "terragrunt"],
        safe: [{ Match.has($0, "-help", "--help") }],
        rules: [
            PolicyRule(name: "destroy", severity: .critical, reason: "terraform destroy deletes every managed resource", alternative: "terraform plan -destroy first") {
                let verbs = Match.verbs($0, 1)
                return verbs == ["destroy"] || (verbs == ["apply"] && Match.has($0, "-destroy", "--destroy"))
            },
            PolicyRule(name: "state-rm", severity: .high, reason: "terraform state rm forgets resources, which may then be recreated or leaked", alternative: nil) {
                Match.verbs($0, 2) == ["state", "rm"]
            },
            PolicyRule(name: "apply-auto-approve", severity: .medium, reason: "apply -auto-approve changes infrastructure without showing the plan",
                       alternative: "terraform plan, then apply the saved plan") {
                Match.verbs($0, 1) == ["apply"] && Match.has($0, "-auto-approve", "--auto-approve")
            },
            PolicyRule(name: "workspace-delete", severity: .medium, reason: "Deletes a Terraform workspace", alternative: nil) {
                Match.verbs($0, 2) == ["workspace", "delete"]
            },
        ])
}
