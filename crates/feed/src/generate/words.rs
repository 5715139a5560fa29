//! The word lists values are made from: made-up names, documentation zones, real ATT&CK techniques and CVEs,
//! and the source brands; and how names are cased.

pub(super) const ADJECTIVES: &[&str] = &[
    "amber", "quiet", "rapid", "hollow", "silver", "lunar", "frozen", "brisk", "dusty", "gentle", "hidden", "iron",
    "jade", "keen", "lofty", "mellow", "noble", "open", "proud", "rusty", "solar", "tidal", "vivid", "windy",
];
pub(super) const NOUNS: &[&str] = &[
    "harbor", "meadow", "signal", "lantern", "orchard", "canyon", "beacon", "summit", "thicket", "quarry", "river",
    "garden", "bridge", "market", "tower", "valley", "harvest", "compass", "anchor", "forge", "ledger", "portal",
    "relay", "station",
];
pub(super) const ZONES: &[&str] = &["example.com", "example.net", "example.org", "test"];
pub(super) const MAIL_ZONES: &[&str] = &["example.com", "example.net", "example.org", "mail.test"];
pub(super) const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia",
    "peggy", "rupert", "sybil", "trent", "victor", "walter", "yara",
];
pub(super) const LAST: &[&str] = &[
    "smith", "jones", "nguyen", "garcia", "miller", "davis", "lopez", "wilson", "moore", "taylor", "martin", "lee",
    "walker", "young", "king", "wright",
];
pub(super) const TAGS: &[&str] = &[
    "apt28",
    "phishing",
    "botnet",
    "ransomware",
    "c2",
    "malware",
    "scanner",
    "tor-exit",
    "spam",
    "credential-theft",
    "exploit",
    "cryptomining",
    "infostealer",
    "loader",
];
pub(super) const MINERALS: &[&str] = &[
    "Basalt", "Quartz", "Obsidian", "Jasper", "Garnet", "Onyx", "Feldspar", "Gypsum", "Mica", "Pumice", "Slate",
    "Marble", "Granite", "Topaz", "Beryl", "Agate",
];
pub(super) const BIRDS: &[&str] = &[
    "Heron", "Wren", "Plover", "Egret", "Finch", "Lark", "Kestrel", "Curlew", "Dunlin", "Grebe", "Linnet", "Petrel",
    "Shrike", "Sparrow", "Tern", "Warbler",
];
pub(super) const TREES: &[&str] = &[
    "Alder", "Birch", "Cedar", "Hazel", "Juniper", "Larch", "Maple", "Rowan", "Spruce", "Willow", "Yew", "Aspen",
    "Linden", "Poplar", "Sumac", "Tamarack",
];
pub(super) const MALWARE_PREFIX: &[&str] =
    &["Grim", "Dusk", "Nox", "Vex", "Blight", "Murk", "Sly", "Hex", "Rift", "Gloom", "Crypt", "Shade"];
/// Malware name suffixes and the STIX malware type each implies.
pub(super) const MALWARE_SUFFIX: &[(&str, &str)] = &[
    ("Loader", "downloader"),
    ("Stealer", "spyware"),
    ("Locker", "ransomware"),
    ("Bot", "bot"),
    ("RAT", "remote-access-trojan"),
    ("Wiper", "wiper"),
    ("Dropper", "dropper"),
    ("Miner", "resource-exploitation"),
    ("Spy", "spyware"),
    ("Gate", "backdoor"),
];
pub(super) const TOOLS: &[&str] = &[
    "PsExec",
    "Mimikatz",
    "AdFind",
    "Rclone",
    "ngrok",
    "Impacket",
    "BloodHound",
    "Netcat",
    "Nmap",
    "WinSCP",
    "Plink",
    "Chisel",
];
/// Real MITRE ATT&CK techniques: id, name, kill chain phase.
pub(super) const TECHNIQUES: &[(&str, &str, &str)] = &[
    ("T1071.004", "Application Layer Protocol: DNS", "command-and-control"),
    ("T1071.001", "Application Layer Protocol: Web Protocols", "command-and-control"),
    ("T1566.001", "Phishing: Spearphishing Attachment", "initial-access"),
    ("T1566.002", "Phishing: Spearphishing Link", "initial-access"),
    ("T1059.001", "Command and Scripting Interpreter: PowerShell", "execution"),
    ("T1204.002", "User Execution: Malicious File", "execution"),
    ("T1547.001", "Boot or Logon Autostart Execution: Registry Run Keys / Startup Folder", "persistence"),
    ("T1053.005", "Scheduled Task/Job: Scheduled Task", "persistence"),
    ("T1055", "Process Injection", "privilege-escalation"),
    ("T1027", "Obfuscated Files or Information", "defense-evasion"),
    ("T1003.001", "OS Credential Dumping: LSASS Memory", "credential-access"),
    ("T1110.003", "Brute Force: Password Spraying", "credential-access"),
    ("T1046", "Network Service Discovery", "discovery"),
    ("T1021.001", "Remote Services: Remote Desktop Protocol", "lateral-movement"),
    ("T1560.001", "Archive Collected Data: Archive via Utility", "collection"),
    ("T1041", "Exfiltration Over C2 Channel", "exfiltration"),
    ("T1486", "Data Encrypted for Impact", "impact"),
    ("T1190", "Exploit Public-Facing Application", "initial-access"),
];
/// Well-known CVEs and their CVSS base scores; later CVE ids are synthetic.
pub(super) const CVES: &[(&str, f64)] = &[
    ("CVE-2021-44228", 10.0),
    ("CVE-2017-0144", 8.1),
    ("CVE-2019-19781", 9.8),
    ("CVE-2021-26855", 9.1),
    ("CVE-2023-34362", 9.8),
    ("CVE-2022-30190", 7.8),
    ("CVE-2020-1472", 10.0),
    ("CVE-2018-13379", 9.8),
];
pub(super) const COA_VERBS: &[&str] =
    &["Block", "Monitor", "Restrict", "Disable", "Audit", "Isolate", "Patch", "Alert on"];
pub(super) const COA_OBJECTS: &[&str] = &[
    "outbound DNS tunneling",
    "Office macro execution",
    "exposed RDP",
    "PowerShell remoting",
    "legacy authentication",
    "USB mass storage",
    "SMBv1",
    "unsigned drivers",
    "new Run keys",
    "LSASS access",
];
pub(super) const INFRA_KINDS: &[(&str, &str)] = &[
    ("C2 cluster", "command-and-control"),
    ("phishing kit host", "phishing"),
    ("botnet relay", "botnet"),
    ("staging server", "staging"),
    ("exfiltration drop", "exfiltration"),
];
pub(super) const GREEK: &[&str] =
    &["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta", "Theta", "Iota", "Kappa"];
pub(super) const ORGS: &[&str] =
    &["Contoso", "Fabrikam", "Northwind", "Tailspin", "Woodgrove", "Litware", "Proseware", "Adatum", "Wingtip"];
pub(super) const SECTORS: &[(&str, &str)] = &[
    ("Bank", "financial-services"),
    ("Health", "healthcare"),
    ("Energy", "energy"),
    ("Logistics", "transportation"),
    ("Airlines", "aviation"),
    ("University", "education"),
    ("Telecom", "telecommunications"),
    ("Retail", "retail"),
];
/// Countries: name, ISO code, STIX region.
pub(super) const COUNTRIES: &[(&str, &str, &str)] = &[
    ("United States", "US", "northern-america"),
    ("Canada", "CA", "northern-america"),
    ("Brazil", "BR", "south-america"),
    ("United Kingdom", "GB", "northern-europe"),
    ("Germany", "DE", "western-europe"),
    ("France", "FR", "western-europe"),
    ("Poland", "PL", "eastern-europe"),
    ("Italy", "IT", "southern-europe"),
    ("Nigeria", "NG", "western-africa"),
    ("Kenya", "KE", "eastern-africa"),
    ("Egypt", "EG", "northern-africa"),
    ("Israel", "IL", "western-asia"),
    ("India", "IN", "southern-asia"),
    ("Japan", "JP", "eastern-asia"),
    ("South Korea", "KR", "eastern-asia"),
    ("Singapore", "SG", "south-eastern-asia"),
    ("Australia", "AU", "australia-and-new-zealand"),
    ("Mexico", "MX", "central-america"),
];
pub(super) const VENDORS: &[&str] =
    &["Contoso", "Fabrikam", "Northwind Traders", "Tailspin Toys", "Adventure Works", "Litware"];
pub(super) const PRODUCTS: &[&str] =
    &["Web Server", "VPN Gateway", "Mail Transfer Agent", "File Sync", "Remote Desktop", "PDF Reader", "Build Agent"];
pub(super) const REG_PATHS: &[&str] = &[
    "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
    "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
    "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon",
    "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services",
    "HKEY_CURRENT_USER\\Software\\Northwind Traders\\O'Hare Sync\\Run",
];
pub(super) const CAMEL_A: &[&str] =
    &["Update", "Sync", "Cloud", "Secure", "Media", "Driver", "Print", "Shell", "Task", "System", "Net", "Office"];
pub(super) const CAMEL_B: &[&str] = &["Helper", "Service", "Agent", "Host", "Manager", "Monitor", "Launcher", "Broker"];
pub(super) const FILE_STEMS: &[&str] =
    &["invoice", "report", "setup", "update", "payroll", "scan", "document", "order", "resume", "statement"];
pub(super) const FILE_EXTS: &[&str] = &["exe", "dll", "docm", "xlsm", "js", "ps1", "zip", "iso", "lnk", "hta"];
pub(super) const URL_PATHS: &[&str] = &[
    "login",
    "wp-admin/admin-ajax.php",
    "gate.php",
    "download",
    "invoice/view",
    "account/verify",
    "api/v1/beacon",
    "images/logo.png",
    "update/check",
    "secure/signin",
];
pub(super) const BRAND_THREAT: &str = "Example Threat Feed";
pub(super) const BRAND_PHISHING: &str = "Example Phishing Feed";
pub(super) const BRAND_MALWARE: &str = "Example Malware Lab";
pub(super) const BRAND_REPORTS: &str = "Example Intel Reports";

/// The word with its first letter in upper case.
pub(super) fn capitalize(w: &str) -> String {
    let mut c = w.chars();
    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

/// Every space-separated word capitalized.
pub(super) fn title_case(s: &str) -> String {
    s.split(' ').map(capitalize).collect::<Vec<_>>().join(" ")
}
