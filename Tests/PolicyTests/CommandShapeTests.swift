import Foundation
import Host
import Testing

/// Compound commands, wrappers, quoting, inline scripts and data that is not code.
@Suite("command shapes")
struct CommandShapeTests {
    let policy = CommandPolicy()

    @Test("one harmless part never excuses another", arguments: [
        "ls && git reset --hard", "git reset --hard; ls", "true || git reset --hard", "cat x | git reset --hard",
        "sleep 1 & git reset --hard", "(cd repo && git reset --hard)", "{ ls; git reset --hard; }", "echo $(git reset --hard)",
        "echo \"$(git reset --hard)\"", "diff <(git reset --hard) x", "if true; then git reset --hard; fi",
        "while true; do git reset --hard; done", "ls\ngit reset --hard", "x=$(ls; git reset --hard)",
    ])
    func compound(_ command: String) {
        let decision = policy.evaluate(command)
        #expect(decision.verdict == .deny)
        #expect(decision.ruleID == "core.git:reset-hard")
    }

    @Test("wrappers are seen through", arguments: [
        "sudo -u deploy -E git reset --hard", "env -u HOME A=1 git reset --hard", "timeout -s KILL 30 git reset --hard",
        "nice -n 5 nohup git reset --hard", "stdbuf -oL git reset --hard", "xargs -0 git reset --hard", "time -p git reset --hard",
        "exec git reset --hard", "'git' reset --hard", "/usr/local/bin/git reset --hard", "\\git reset --hard",
        "git -C /repo reset --hard", "git -c core.pager=cat reset --hard", "find . -exec git reset --hard \\;",
        "sh -lc 'git reset --hard'", "bash -ec \"git reset --hard\"", "eval 'git reset --hard'", "env -S 'git reset --hard'",
        "ssh -p 22 host git reset --hard", "su -c 'git reset --hard' deploy", "busybox sh -c 'git reset --hard'",
    ])
    func wrappers(_ command: String) {
        #expect(policy.evaluate(command).ruleID == "core.git:reset-hard", "\(command)")
    }

    @Test("scripts handed to interpreters are read", arguments: [
        ("python3 -c 'import subprocess; subprocess.run([\"rm\", \"-rf\", \"/srv\"])'", "core.filesystem:rm-rf-general"),
        ("node -e \"require('fs').rmSync('/srv', {recursive: true})\"", "heredoc.node:fs_rmsync"),
        ("ruby -e 'FileUtils.rm_rf(\"/srv\")'", "heredoc.ruby:fileutils_rm_rf"),
        ("perl -e 'unlink(\"/etc/passwd\")'", "heredoc.perl:unlink"),
        ("python3 <<EOF\nimport shutil\nshutil.rmtree('/srv')\nEOF", "heredoc.python:shutil_rmtree"),
        ("sh <<'EOF'\ncd /\nrm -rf /srv\nEOF", "core.filesystem:rm-rf-general"),
        ("bash <<< 'git clean -fdx'", "core.git:clean-force"),
        ("echo 'git reset --hard' | sh", "core.git:reset-hard"),
        ("printf 'rm -rf /srv' | bash", "core.filesystem:rm-rf-general"),
        ("php -r 'shell_exec(\"rm -rf /srv\");'", "core.filesystem:rm-rf-general"),
    ])
    func inlineScripts(_ command: String, _ rule: String) {
        let decision = policy.evaluate(command)
        #expect(decision.matches.contains { $0.ruleID == rule }, "\(command): \(decision.matches.map(\.ruleID))")
        #expect(decision.verdict == .deny)
    }

    @Test("data is not code", arguments: [
        "echo 'git reset --hard'", "printf '%s\\n' 'rm -rf /'", "git commit -m 'rm -rf / && git reset --hard'",
        "grep -e 'git reset --hard' log", "rg 'rm -rf' .", "cat <<EOF\ngit reset --hard\nEOF", "tee notes <<< 'rm -rf /'",
        "command -v git", "which rm", "type git", "man git", "echo \"rm -rf / is dangerous\" > notes.txt",
        "git log --grep='reset --hard'", "python3 -c 'print(\"rm -rf /\")'", "node -e 'console.log(\"git reset --hard\")'",
        "echo git reset --hard", "ls # git reset --hard",
    ])
    func data(_ command: String) {
        #expect(policy.evaluate(command).verdict == .allow, "\(command): \(policy.evaluate(command).matches.map(\.ruleID))")
    }

    @Test("rm -r (with or without -f) is allowed only strictly inside temporary directories, never through ..", arguments: [
        ("rm -rf /tmp/build", true), ("rm -rf /var/tmp/x/y", true), ("rm -rf \"$TMPDIR/cache\"", true), ("rm -rf ${TMPDIR:-/tmp}/x", true),
        ("rm -rf /tmp", false), ("rm -rf /tmp/", false), ("rm -rf /tmp/../etc", false), ("rm -rf /tmp/a/../../home", false),
        ("rm -rf /tmp/x /home/me", false), ("rm -rf build", false), ("rm -rf", false), ("rm -r -f -- /srv", false),
        ("rm -Rf /opt/app", false), ("rm -r build", false), ("rm -r /tmp/build", true), ("rm file", true),
    ])
    func temporaryDirectories(_ command: String, _ allowed: Bool) {
        #expect((policy.evaluate(command).verdict == .allow) == allowed, "\(command)")
    }

    @Test("every decision carries rule, pack, severity, reason, matched part and an alternative")
    func decisionFields() {
        let decision = policy.evaluate("cd /repo && sudo git push --force origin main")
        #expect(decision.verdict == .deny)
        #expect(decision.ruleID == "core.git:push-force-long")
        #expect(decision.packID == "core.git")
        #expect(decision.severity == .high)
        #expect(decision.reason == "Force push can overwrite remote history")
        #expect(decision.matched == "sudo git push --force origin main")
        #expect(decision.alternative == "git push --force-with-lease")
        #expect(decision.source == "pack")
        #expect(policy.evaluate("git push --force-with-lease origin main").verdict == .allow)
    }

    @Test("the strictest part decides; all parts are reported")
    func strictest() {
        let decision = policy.evaluate("git stash drop; git branch -D x; git clean -f")
        #expect(decision.verdict == .deny)
        #expect(decision.ruleID == "core.git:clean-force")
        #expect(Set(decision.matches.map(\.ruleID)) == ["core.git:stash-drop", "core.git:branch-force-delete", "core.git:clean-force"])
        #expect(policy.evaluate("git stash drop").verdict == .warn)
    }
}
