extension ConfigurationSettings {
    /// The text of `deploy/omnisync.conf.example`, generated from the settings table so that the
    /// example can never document a key the parser does not know, or a wrong default.
    public static func exampleFile() -> String {
        var lines = [
            "# omnisync configuration (default path \(Configuration.defaultPath)).",
            "#",
            "# INI style: key = value under [section] headers. '#' or ';' starts a comment at the",
            "# start of a line or after whitespace following a value. Every key is shown below with",
            "# its default. A mistake in this file stops every command with exit status 78,",
            "# naming the file, the line and the key.",
            "",
            "[daemon]",
        ]
        for setting in all where setting.section == .daemon {
            lines.append("")
            lines += documentation(of: setting)
            lines.append(assignment(of: setting, value: nil))
        }
        lines += [
            "",
            "# One [site NAME] section per database taking part in sync: the web shop and every",
            "# store. NAME is 1-\(siteNameMaxLength) characters of a-z, 0-9 and '-', unique in this file, and is",
            "# recorded in the site's database by 'omnisync migrate'. At least two sites.",
        ]
        let siteSettings = all.filter { $0.section == .site }
        for (index, site) in exampleSites.enumerated() {
            lines.append("")
            lines.append("[site \(site.name)]")
            for setting in siteSettings {
                if index == 0 { lines += documentation(of: setting) }
                lines.append(assignment(of: setting, value: site.values[setting.key]))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `key = value` with the given value or the default; a key with neither is shown
    /// commented out with its example value.
    private static func assignment(of setting: ConfigurationSetting, value: String?) -> String {
        if let value = value ?? setting.defaultText {
            return "\(setting.key) = \(value)"
        }
        return "#\(setting.key) = \(setting.example ?? "")"
    }

    private static func documentation(of setting: ConfigurationSetting) -> [String] {
        var notes: [String] = []
        if setting.required {
            notes.append("Required.")
        } else {
            notes.append("Default: \(setting.defaultText ?? "unset").")
        }
        switch setting.onReload {
        case .inPlace: notes.append("Applied on SIGHUP.")
        case .renewsConnections: notes.append("Applied on SIGHUP, with new connections to every site.")
        }
        return setting.documentation.map { "# " + $0 } + ["# " + notes.joined(separator: " ")]
    }
}
