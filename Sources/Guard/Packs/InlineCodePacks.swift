extension PolicyPack {
    /// Destructive library calls in code handed to interpreters inline (`python -c`, heredocs).
    static let inlinePython = PolicyPack(
        id: "heredoc.python", summary: "destructive calls in inline Python (python -c, heredocs)", enabledByDefault: true,
        commands: [], language: .python,
        codeRules: [
            CodeRule(name: "shutil_rmtree", severity: .high, reason: "shutil.rmtree deletes a directory tree",
                     alternative: "Delete inside a temporary directory, or move the tree aside", needles: ["shutil.rmtree(", "rmtree("]),
            CodeRule(name: "os_remove", severity: .high, reason: "os.remove / os.unlink deletes a file",
                     alternative: "Move the file aside instead", needles: ["os.remove(", "os.unlink(", ".unlink("]),
            CodeRule(name: "os_rmdir", severity: .medium, reason: "os.rmdir / os.removedirs deletes directories",
                     alternative: nil, needles: ["os.rmdir(", "os.removedirs("]),
        ])

    static let inlineNode = PolicyPack(
        id: "heredoc.node", summary: "destructive calls in inline JavaScript (node -e, heredocs)", enabledByDefault: true,
        commands: [], language: .node,
        codeRules: [
            CodeRule(name: "fs_rmsync", severity: .high, reason: "fs.rm / fs.rmSync / fs.rmdir deletes files or directory trees",
                     alternative: "Delete inside a temporary directory", needles: ["rmSync(", "rmdirSync(", "fs.rm(", "fs.rmdir(", ".rm(", "rimraf"]),
            CodeRule(name: "fs_unlinksync", severity: .high, reason: "fs.unlink deletes a file", alternative: nil,
                     needles: ["unlinkSync(", "fs.unlink("]),
        ])

    static let inlineRuby = PolicyPack(
        id: "heredoc.ruby", summary: "destructive calls in inline Ruby (ruby -e, heredocs)", enabledByDefault: true,
        commands: [], language: .ruby,
        codeRules: [
            CodeRule(name: "fileutils_rm_rf", severity: .high, reason: "FileUtils.rm_rf / rm_r deletes a directory tree",
                     alternative: "Delete inside a temporary directory",
                     needles: ["FileUtils.rm_rf", "FileUtils.rm_r", "FileUtils.remove_dir", "FileUtils.remove_entry", "FileUtils.rmtree"]),
            CodeRule(name: "file_delete", severity: .high, reason: "File.delete / FileUtils.rm deletes files", alternative: nil,
                     needles: ["File.delete(", "File.unlink(", "FileUtils.rm(", "FileUtils.rm "]),
        ])

    static let inlinePerl = PolicyPack(
        id: "heredoc.perl", summary: "destructive calls in inline Perl (perl -e, heredocs)", enabledByDefault: true,
        commands: [], language: .perl,
        codeRules: [
            CodeRule(name: "rmtree", severity: .high, reason: "rmtree / remove_tree deletes a directory tree", alternative: nil,
                     needles: ["rmtree(", "remove_tree("]),
            CodeRule(name: "unlink", severity: .high, reason: "unlink deletes files", alternative: nil, needles: ["unlink(", "unlink "]),
        ])

    static let inlinePHP = PolicyPack(
        id: "heredoc.php", summary: "destructive calls in inline PHP (php -r, heredocs)", enabledByDefault: true,
        commands: [], language: .php,
        codeRules: [
            CodeRule(name: "unlink", severity: .high, reason: "unlink / rmdir deletes files and directories", alternative: nil,
                     needles: ["unlink(", "rmdir("]),
        ])
}
