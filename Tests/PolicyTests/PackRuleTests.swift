import Host
import Testing

/// Each opt-in pack: its destructive commands match only when it is enabled, with the right rule;
/// everyday commands of the same tools never match.
@Suite("opt-in packs")
struct PackRuleTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var pack: String
        var command: String
        var rule: String?   // nil: must not match
        var testDescription: String { "\(pack): \(command)" }
    }

    static let cases: [Case] = [
        .init(pack: "database.postgres", command: "dropdb production", rule: "database.postgres:dropdb"),
        .init(pack: "database.postgres", command: #"psql -c "DROP DATABASE app""#, rule: "database.postgres:drop-database"),
        .init(pack: "database.postgres", command: #"psql app -c 'truncate users'"#, rule: "database.postgres:truncate"),
        .init(pack: "database.postgres", command: "psql app <<SQL\nDELETE FROM users;\nSQL", rule: "database.postgres:delete-without-where"),
        .init(pack: "database.postgres", command: #"echo "DROP TABLE users" | psql app"#, rule: "database.postgres:drop-table"),
        .init(pack: "database.postgres", command: #"psql -c "DELETE FROM users WHERE id = 3""#, rule: nil),
        .init(pack: "database.postgres", command: #"psql -c "SELECT * FROM users""#, rule: nil),
        .init(pack: "database.mysql", command: "mysqladmin -u root drop shop", rule: "database.mysql:mysqladmin-drop"),
        .init(pack: "database.mysql", command: #"mysql -e "drop schema shop""#, rule: "database.mysql:drop-database"),
        .init(pack: "database.mysql", command: "mysql -e 'show tables'", rule: nil),
        .init(pack: "database.sqlite", command: #"sqlite3 app.db "DROP TABLE users""#, rule: "database.sqlite:drop-table"),
        .init(pack: "database.sqlite", command: #"sqlite3 app.db "select 1""#, rule: nil),
        .init(pack: "database.redis", command: "redis-cli FLUSHALL", rule: "database.redis:flush"),
        .init(pack: "database.redis", command: "redis-cli -n 2 flushdb", rule: "database.redis:flush"),
        .init(pack: "database.redis", command: "redis-cli get key", rule: nil),
        .init(pack: "database.mongodb", command: #"mongosh app --eval "db.dropDatabase()""#, rule: "database.mongodb:drop-database"),
        .init(pack: "database.mongodb", command: #"mongosh --eval "db.users.deleteMany({})""#, rule: "database.mongodb:delete-all"),
        .init(pack: "database.mongodb", command: #"mongosh --eval "db.users.find()""#, rule: nil),
        .init(pack: "containers.docker", command: "docker system prune -af", rule: "containers.docker:system-prune"),
        .init(pack: "containers.docker", command: "docker volume rm data", rule: "containers.docker:volume-delete"),
        .init(pack: "containers.docker", command: "docker rm -f web", rule: "containers.docker:force-remove"),
        .init(pack: "containers.docker", command: "docker ps -a", rule: nil),
        .init(pack: "containers.docker", command: "docker run --rm -it alpine sh", rule: nil),
        .init(pack: "containers.compose", command: "docker compose down -v", rule: "containers.compose:down-volumes"),
        .init(pack: "containers.compose", command: "docker-compose -f prod.yml down --volumes", rule: "containers.compose:down-volumes"),
        .init(pack: "containers.compose", command: "docker compose down", rule: nil),
        .init(pack: "containers.podman", command: "podman system reset", rule: "containers.podman:system-reset"),
        .init(pack: "containers.podman", command: "podman volume prune", rule: "containers.podman:volume-delete"),
        .init(pack: "containers.podman", command: "podman images", rule: nil),
        .init(pack: "kubernetes.kubectl", command: "kubectl delete namespace prod", rule: "kubernetes.kubectl:delete-namespace"),
        .init(pack: "kubernetes.kubectl", command: "kubectl delete all --all", rule: "kubernetes.kubectl:delete-all"),
        .init(pack: "kubernetes.kubectl", command: "kubectl -n prod delete pod web-1", rule: "kubernetes.kubectl:delete"),
        .init(pack: "kubernetes.kubectl", command: "kubectl drain node-3", rule: "kubernetes.kubectl:drain"),
        .init(pack: "kubernetes.kubectl", command: "kubectl get pods -n prod", rule: nil),
        .init(pack: "kubernetes.kubectl", command: "kubectl delete pod web-1 --dry-run=client", rule: nil),
        .init(pack: "kubernetes.helm", command: "helm uninstall web", rule: "kubernetes.helm:uninstall"),
        .init(pack: "kubernetes.helm", command: "helm list", rule: nil),
        .init(pack: "cloud.aws", command: "aws s3 rm s3://bucket/data --recursive", rule: "cloud.aws:s3-delete"),
        .init(pack: "cloud.aws", command: "aws s3 rb s3://bucket --force", rule: "cloud.aws:s3-delete"),
        .init(pack: "cloud.aws", command: "aws ec2 terminate-instances --instance-ids i-1", rule: "cloud.aws:terminate"),
        .init(pack: "cloud.aws", command: "aws --region eu-west-1 rds delete-db-instance --db-instance-identifier db", rule: "cloud.aws:rds-delete"),
        .init(pack: "cloud.aws", command: "aws s3 ls s3://bucket", rule: nil),
        .init(pack: "cloud.gcloud", command: "gcloud projects delete my-project", rule: "cloud.gcloud:project-delete"),
        .init(pack: "cloud.gcloud", command: "gcloud compute instances delete vm-1 --zone us-east1-b", rule: "cloud.gcloud:delete"),
        .init(pack: "cloud.gcloud", command: "gsutil rm -r gs://bucket", rule: "cloud.gcloud:gsutil-delete"),
        .init(pack: "cloud.gcloud", command: "gcloud compute instances list", rule: nil),
        .init(pack: "cloud.azure", command: "az group delete --name prod", rule: "cloud.azure:group-delete"),
        .init(pack: "cloud.azure", command: "az vm delete -g rg -n vm1", rule: "cloud.azure:delete"),
        .init(pack: "cloud.azure", command: "az vm list", rule: nil),
        .init(pack: "infrastructure.terraform", command: "terraform destroy", rule: "infrastructure.terraform:destroy"),
        .init(pack: "infrastructure.terraform", command: "terraform apply -destroy -auto-approve", rule: "infrastructure.terraform:destroy"),
        .init(pack: "infrastructure.terraform", command: "tofu state rm aws_instance.web", rule: "infrastructure.terraform:state-rm"),
        .init(pack: "infrastructure.terraform", command: "terraform plan", rule: nil),
        .init(pack: "system", command: "dd if=/dev/zero of=/dev/sda bs=1M", rule: "system:dd-device"),
        .init(pack: "system", command: "mkfs.ext4 /dev/sdb1", rule: "system:mkfs"),
        .init(pack: "system", command: "shred -u secrets.txt", rule: "system:shred"),
        .init(pack: "system", command: "chmod -R 777 /", rule: "system:chmod-recursive-root"),
        .init(pack: "system", command: "kill -9 -1", rule: "system:kill-all"),
        .init(pack: "system", command: "cat image.iso > /dev/sdb", rule: "system:device-redirect"),
        .init(pack: "system", command: "sudo reboot", rule: "system:shutdown"),
        .init(pack: "system", command: "fdisk -l", rule: nil),
        .init(pack: "system", command: "dd if=in.img of=out.img", rule: nil),
        .init(pack: "system", command: "make > /dev/null 2>&1", rule: nil),
        .init(pack: "system", command: "kill -9 4242", rule: nil),
        .init(pack: "publishing", command: "npm publish", rule: "publishing:publish"),
        .init(pack: "publishing", command: "npm unpublish my-pkg@1.0.0", rule: "publishing:unpublish"),
        .init(pack: "publishing", command: "cargo publish", rule: "publishing:publish"),
        .init(pack: "publishing", command: "twine upload dist/*", rule: "publishing:publish"),
        .init(pack: "publishing", command: "gem push my.gem", rule: "publishing:publish"),
        .init(pack: "publishing", command: "npm publish --dry-run", rule: nil),
        .init(pack: "publishing", command: "npm install", rule: nil),
    ]

    @Test("matches with its pack enabled", arguments: cases)
    func enabled(_ testCase: Case) {
        let decision = CommandPolicy(configuration: .withPacks([testCase.pack])).evaluate(testCase.command)
        if let rule = testCase.rule {
            #expect(decision.matches.contains { $0.ruleID == rule }, "got \(decision.matches.map(\.ruleID))")
            #expect(decision.packID == testCase.pack)
        } else {
            #expect(decision.verdict == .allow, "got \(decision.matches.map(\.ruleID))")
        }
    }

    @Test("never matches with only the default packs", arguments: cases.filter { $0.rule != nil })
    func disabled(_ testCase: Case) {
        let decision = CommandPolicy().evaluate(testCase.command)
        #expect(!decision.matches.contains { $0.packID == testCase.pack })
    }

    @Test("the future-pack corpus cases are caught once their packs are on")
    func futurePacks() {
        let policy = CommandPolicy(configuration: .withPacks(["containers.docker", "kubernetes.kubectl"]))
        for command in ["docker system prune", "docker system prune -a", "kubectl delete namespace prod", "kubectl delete all --all"] {
            #expect(policy.evaluate(command).verdict == .deny, "\(command)")
        }
    }

    @Test("severities map to verdicts: high denies, medium warns, low logs")
    func severities() {
        let policy = CommandPolicy(configuration: .withPacks(["containers.docker"]))
        #expect(policy.evaluate("docker system prune").verdict == .deny)
        #expect(policy.evaluate("docker container prune").verdict == .warn)
        #expect(policy.evaluate("docker network prune").verdict == .log)
        #expect(CommandPolicy().evaluate("git branch -D old").verdict == .warn)
    }

    @Test("every rule carries a reason, and every pack is listed")
    func catalog() {
        let packs = CommandPolicy.availablePacks
        #expect(Set(packs.map(\.id)).isSuperset(of: ["core.git", "core.filesystem", "database.postgres", "database.mysql", "database.sqlite",
                                                     "database.redis", "database.mongodb", "containers.docker", "containers.compose",
                                                     "containers.podman", "kubernetes.kubectl", "kubernetes.helm", "cloud.aws", "cloud.gcloud",
                                                     "cloud.azure", "infrastructure.terraform", "system", "publishing"]))
        #expect(packs.filter(\.enabledByDefault).map(\.id).contains("core.git"))
        for pack in packs { for rule in pack.rules { #expect(!rule.reason.isEmpty) } }
    }
}
