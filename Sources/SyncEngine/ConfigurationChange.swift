/// One difference between the running configuration and a reloaded one, and what `SIGHUP`
/// must do about it — decided by the settings table (``ConfigurationSetting/onReload``), never
/// by a list of keys kept elsewhere.
public struct ConfigurationChange: Sendable, Equatable {
    /// As written in the file: the key (`batch_size`), or `[site NAME]` for a site added,
    /// removed or changed.
    public let name: String
    public let effect: ConfigurationSetting.ReloadEffect

    public init(name: String, effect: ConfigurationSetting.ReloadEffect) {
        self.name = name
        self.effect = effect
    }

    /// What differs from `old` to `new`: `[daemon]` keys in the table's order, then sites by
    /// name, then the table catalog. Where a section sits in the file (its line) is not a change.
    public static func between(_ old: Configuration, _ new: Configuration) -> [ConfigurationChange] {
        var changes: [ConfigurationChange] = []
        for setting in ConfigurationSettings.all where setting.section == .daemon {
            if setting.value(in: old.daemon) != setting.value(in: new.daemon) {
                changes.append(ConfigurationChange(name: setting.key, effect: setting.onReload))
            }
        }
        let oldSites = Dictionary(old.sites.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let newSites = Dictionary(new.sites.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let siteSettings = ConfigurationSettings.all.filter { $0.section == .site }
        for name in Set(oldSites.keys).union(newSites.keys).sorted() {
            let section = "[site \(name)]"
            guard let before = oldSites[name], let after = newSites[name] else {
                // A site added or removed: links to and from it appear or go.
                changes.append(ConfigurationChange(name: section, effect: .renewsConnections))
                continue
            }
            let changed = siteSettings.filter { $0.value(in: before) != $0.value(in: after) }
            if !changed.isEmpty {
                let effect: ConfigurationSetting.ReloadEffect =
                    changed.contains { $0.onReload == .renewsConnections } ? .renewsConnections : .inPlace
                changes.append(ConfigurationChange(name: section, effect: effect))
            }
        }
        if old.catalog.hash != new.catalog.hash {
            // Declared tables added, removed or changed: every session reads the installed tables
            // again (after `omnisync migrate`, which installs them).
            changes.append(ConfigurationChange(name: "[table] sections", effect: .renewsConnections))
        }
        return changes
    }
}
