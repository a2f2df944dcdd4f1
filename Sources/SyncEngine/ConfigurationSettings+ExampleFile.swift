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
                // A key whose default depends on the site (locations) is shown with this site's.
                let siteDefault = setting.value(in: SiteConfig(name: site.name, conninfo: "", line: 0))
                lines.append(assignment(of: setting, value: site.values[setting.key] ?? siteDefault))
            }
        }
        lines += [""] + exampleTable
        return lines.joined(separator: "\n") + "\n"
    }

    /// A declared table, commented out: the point of sale's own inventory (docs/declaring-tables.md).
    public static let exampleTable = [
        "# The application's own tables, merged column by column: one [table SCHEMA.NAME] section",
        "# each. The table must exist at every site; 'omnisync check' says what it needs, and",
        "# 'omnisync migrate' installs its capture. Undeclared columns are lww. Rules: counter, lww,",
        "# greatest, least, status(V1, V2, ...), local. After a migrate that changes these sections,",
        "# run 'omnisync reload'. See docs/declaring-tables.md.",
        "#",
        "#[table pos.inventory]",
        "#key = item_id, store_id",
        "#column.id = local",
        "#column.qty = counter",
        "#column.price = lww",
        "#column.last_sold_at = greatest",
        "#column.till_note = local",
        "#check.negative_stock = qty >= 0",
        "#route = all",
    ]

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
            notes.append("Default: \(setting.defaultDescription ?? setting.defaultText ?? "unset").")
        }
        switch setting.onReload {
        case .inPlace: notes.append("Applied on SIGHUP.")
        case .renewsConnections: notes.append("Applied on SIGHUP, with new connections to every site.")
        }
        return setting.documentation.map { "# " + $0 } + ["# " + notes.joined(separator: " ")]
    }
}
