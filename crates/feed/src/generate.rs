//! Synthetic indicators in the Cortex XSOAR indicator JSON shape, for the demo feed and for benchmarks.
//!
//! [`generate`] writes `count` indicators of every XSOAR type (mostly IP, Domain, URL and File) to a writer as it
//! makes them, one at a time, so a million indicators need no more memory than one. The output depends only on
//! the [`Options`]: the same seed, count, `now` and format give the same bytes (the random numbers come from a
//! SplitMix64 generator in this module).
//!
//! Values are valid for their type and stay, where the type allows, in documentation and reserved space
//! (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, then 198.18.0.0/15, 100.64.0.0/10 and 240.0.0.0/4;
//! 2001:db8::/32; example.com/.net/.org and .test; private ASNs), and actor, malware and campaign names are
//! made up, so nothing real is accused. Values are unique within their type (up to hundreds of millions per
//! type). With at least 81 indicators, every type appears at least three times: the first 81 cycle through the
//! types, the rest follow the weighted mix in [`TYPES`]. Relationships point only at indicators written earlier
//! in the same output, chosen from a small window of recent ones.

use edge_core::time::Timestamp;
use serde_json::{json, Map, Value};
use std::io::{self, Write};

/// Every XSOAR type the generator makes, with its weight in the mix (per 1000 indicators).
pub const TYPES: [(&str, u64); 27] = [
    ("Identity", 5),
    ("Location", 5),
    ("Attack Pattern", 10),
    ("CVE", 15),
    ("Threat Actor", 5),
    ("Intrusion Set", 5),
    ("Malware", 10),
    ("Tool", 5),
    ("Campaign", 5),
    ("Course of Action", 5),
    ("Infrastructure", 5),
    ("Report", 5),
    ("IP", 300),
    ("CIDR", 20),
    ("IPv6", 25),
    ("IPv6CIDR", 10),
    ("Domain", 160),
    ("DomainGlob", 10),
    ("URL", 150),
    ("Email", 30),
    ("File", 150),
    ("Registry Key", 10),
    ("Account", 10),
    ("ASN", 10),
    ("Software", 10),
    ("X509 Certificate", 10),
    ("Mutex", 10),
];

/// How many indicators cycle through every type before the weighted mix starts (three of each).
pub const GUARANTEED_ROUNDS: u64 = 3;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// How many indicators.
    pub count: u64,
    /// The random seed: the same seed gives the same indicators.
    pub seed: u64,
    /// The reference time: timestamps fall in the year before it, expirations around it.
    pub now: Timestamp,
    /// The output form.
    pub format: Format,
}

/// The output form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"iocs": [ … ]}`, one pretty-printed indicator after another (the searchIndicators shape).
    Json,
    /// One compact indicator per line.
    Jsonl,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "json" => Ok(Format::Json),
            "jsonl" => Ok(Format::Jsonl),
            other => Err(format!("unknown format \"{other}\": use json or jsonl")),
        }
    }
}

/// What was written: the number of indicators of each type, in [`TYPES`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub per_type: Vec<(&'static str, u64)>,
}

impl Summary {
    /// The total number of indicators written.
    pub fn total(&self) -> u64 {
        self.per_type.iter().map(|(_, n)| n).sum()
    }
}

/// Writes `opts.count` synthetic indicators to `out`, streaming. `out` should be buffered.
pub fn generate<W: Write>(opts: &Options, mut out: W) -> io::Result<Summary> {
    let mut g = Generator::new(opts);
    let mut buf = Vec::with_capacity(4096);
    if opts.format == Format::Json {
        out.write_all(b"{\n  \"iocs\": [")?;
    }
    for i in 0..opts.count {
        let record = g.next_record(i);
        buf.clear();
        match opts.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut buf, &record)?;
                buf.push(b'\n');
                out.write_all(&buf)?;
            }
            Format::Json => {
                serde_json::to_writer_pretty(&mut buf, &record)?;
                out.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
                // Indent the record two levels; JSON strings never hold a raw newline, so this is safe.
                for (n, line) in buf.split(|&b| b == b'\n').enumerate() {
                    if n > 0 {
                        out.write_all(b"\n    ")?;
                    }
                    out.write_all(line)?;
                }
            }
        }
    }
    if opts.format == Format::Json {
        out.write_all(if opts.count == 0 { b"]\n}\n" } else { b"\n  ]\n}\n" })?;
    }
    out.flush()?;
    Ok(Summary { per_type: TYPES.iter().zip(g.per_type).map(|((t, _), n)| (*t, n)).collect() })
}

/// SplitMix64: small, fast, and good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` random bytes as lower-case hex.
    fn hex(&mut self, n: usize) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(n * 2);
        let mut word = 0u64;
        for i in 0..n {
            if i % 8 == 0 {
                word = self.next();
            }
            let b = (word >> ((i % 8) * 8)) as u8;
            s.push(DIGITS[usize::from(b >> 4)] as char);
            s.push(DIGITS[usize::from(b & 15)] as char);
        }
        s
    }
}

/// A bijection on each block of `m` numbers, different for each `salt`: makes a counter look random while
/// keeping the values it picks unique.
fn scramble(k: u64, m: u64, salt: u64) -> u64 {
    (k / m) * m + permute(k % m, m, salt)
}

/// A pseudo-random permutation of `0..m`: a four-round Feistel network on the smallest even number of bits
/// that holds `m`, walking the cycle until the result is below `m`.
fn permute(x: u64, m: u64, salt: u64) -> u64 {
    if m <= 1 {
        return 0;
    }
    let bits = 64 - (m - 1).leading_zeros();
    let half = bits.div_ceil(2);
    let mask = (1u64 << half) - 1;
    let mut x = x;
    loop {
        let (mut l, mut r) = (x >> half, x & mask);
        for round in 0..4u64 {
            let f = mix(r ^ salt ^ (round << 56)) & mask;
            (l, r) = (r, l ^ f);
        }
        x = (l << half) | r;
        if x < m {
            return x;
        }
    }
}

/// The SplitMix64 finalizer: a good 64-bit mixing function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `k`-th name made of one word from each list (scrambled), with a number suffix once the combinations run
/// out: unique for every `k`.
fn combo(k: u64, lists: &[&[&str]], sep: &str, salt: u64) -> String {
    let m: u64 = lists.iter().map(|l| l.len() as u64).product();
    let j = scramble(k, m, salt);
    let (mut r, block) = (j % m, j / m);
    let mut out = String::new();
    for (i, list) in lists.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(list[(r % list.len() as u64) as usize]);
        r /= list.len() as u64;
    }
    if block > 0 {
        out.push_str(&(block + 1).to_string());
    }
    out
}

const ADJECTIVES: &[&str] = &[
    "amber", "quiet", "rapid", "hollow", "silver", "lunar", "frozen", "brisk", "dusty", "gentle", "hidden", "iron",
    "jade", "keen", "lofty", "mellow", "noble", "open", "proud", "rusty", "solar", "tidal", "vivid", "windy",
];
const NOUNS: &[&str] = &[
    "harbor", "meadow", "signal", "lantern", "orchard", "canyon", "beacon", "summit", "thicket", "quarry", "river",
    "garden", "bridge", "market", "tower", "valley", "harvest", "compass", "anchor", "forge", "ledger", "portal",
    "relay", "station",
];
const ZONES: &[&str] = &["example.com", "example.net", "example.org", "test"];
const MAIL_ZONES: &[&str] = &["example.com", "example.net", "example.org", "mail.test"];
const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia",
    "peggy", "rupert", "sybil", "trent", "victor", "walter", "yara",
];
const LAST: &[&str] = &[
    "smith", "jones", "nguyen", "garcia", "miller", "davis", "lopez", "wilson", "moore", "taylor", "martin", "lee",
    "walker", "young", "king", "wright",
];
const TAGS: &[&str] = &[
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
const MINERALS: &[&str] = &[
    "Basalt", "Quartz", "Obsidian", "Jasper", "Garnet", "Onyx", "Feldspar", "Gypsum", "Mica", "Pumice", "Slate",
    "Marble", "Granite", "Topaz", "Beryl", "Agate",
];
const BIRDS: &[&str] = &[
    "Heron", "Wren", "Plover", "Egret", "Finch", "Lark", "Kestrel", "Curlew", "Dunlin", "Grebe", "Linnet", "Petrel",
    "Shrike", "Sparrow", "Tern", "Warbler",
];
const TREES: &[&str] = &[
    "Alder", "Birch", "Cedar", "Hazel", "Juniper", "Larch", "Maple", "Rowan", "Spruce", "Willow", "Yew", "Aspen",
    "Linden", "Poplar", "Sumac", "Tamarack",
];
const MALWARE_PREFIX: &[&str] =
    &["Grim", "Dusk", "Nox", "Vex", "Blight", "Murk", "Sly", "Hex", "Rift", "Gloom", "Crypt", "Shade"];
/// Malware name suffixes and the STIX malware type each implies.
const MALWARE_SUFFIX: &[(&str, &str)] = &[
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
const TOOLS: &[&str] = &[
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
const TECHNIQUES: &[(&str, &str, &str)] = &[
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
const CVES: &[(&str, f64)] = &[
    ("CVE-2021-44228", 10.0),
    ("CVE-2017-0144", 8.1),
    ("CVE-2019-19781", 9.8),
    ("CVE-2021-26855", 9.1),
    ("CVE-2023-34362", 9.8),
    ("CVE-2022-30190", 7.8),
    ("CVE-2020-1472", 10.0),
    ("CVE-2018-13379", 9.8),
];
const COA_VERBS: &[&str] = &["Block", "Monitor", "Restrict", "Disable", "Audit", "Isolate", "Patch", "Alert on"];
const COA_OBJECTS: &[&str] = &[
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
const INFRA_KINDS: &[(&str, &str)] = &[
    ("C2 cluster", "command-and-control"),
    ("phishing kit host", "phishing"),
    ("botnet relay", "botnet"),
    ("staging server", "staging"),
    ("exfiltration drop", "exfiltration"),
];
const GREEK: &[&str] = &["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta", "Theta", "Iota", "Kappa"];
const ORGS: &[&str] =
    &["Contoso", "Fabrikam", "Northwind", "Tailspin", "Woodgrove", "Litware", "Proseware", "Adatum", "Wingtip"];
const SECTORS: &[(&str, &str)] = &[
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
const COUNTRIES: &[(&str, &str, &str)] = &[
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
const VENDORS: &[&str] = &["Contoso", "Fabrikam", "Northwind Traders", "Tailspin Toys", "Adventure Works", "Litware"];
const PRODUCTS: &[&str] =
    &["Web Server", "VPN Gateway", "Mail Transfer Agent", "File Sync", "Remote Desktop", "PDF Reader", "Build Agent"];
const REG_PATHS: &[&str] = &[
    "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
    "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
    "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce",
    "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services",
    "HKEY_CURRENT_USER\\Software\\Classes\\ms-settings\\shell\\open\\command",
];
const CAMEL_A: &[&str] =
    &["Update", "Sync", "Cloud", "Secure", "Media", "Driver", "Print", "Shell", "Task", "System", "Net", "Office"];
const CAMEL_B: &[&str] = &["Helper", "Service", "Agent", "Host", "Manager", "Monitor", "Launcher", "Broker"];
const FILE_STEMS: &[&str] =
    &["invoice", "report", "setup", "update", "payroll", "scan", "document", "order", "resume", "statement"];
const FILE_EXTS: &[&str] = &["exe", "dll", "docm", "xlsm", "js", "ps1", "zip", "iso", "lnk", "hta"];
const URL_PATHS: &[&str] = &[
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
const BRAND_THREAT: &str = "Example Threat Feed";
const BRAND_PHISHING: &str = "Example Phishing Feed";
const BRAND_MALWARE: &str = "Example Malware Lab";
const BRAND_REPORTS: &str = "Example Intel Reports";

/// IPv4 pools, in the order they are used: base address and size.
const IPV4_POOLS: &[(u32, u64)] = &[
    (0xC000_0200, 256),     // 192.0.2.0/24
    (0xC633_6400, 256),     // 198.51.100.0/24
    (0xCB00_7100, 256),     // 203.0.113.0/24
    (0xC612_0000, 1 << 17), // 198.18.0.0/15
    (0x6440_0000, 1 << 22), // 100.64.0.0/10
    (0xF000_0000, 1 << 28), // 240.0.0.0/4
];

/// The `k`-th address of the pools; in the three documentation /24s only hosts .1–.254 are used.
fn ipv4_at(k: u64, salt: u64) -> std::net::Ipv4Addr {
    let total: u64 = IPV4_POOLS.iter().map(|p| if p.1 == 256 { 254 } else { p.1 }).sum();
    let mut k = k % total;
    for &(base, size) in IPV4_POOLS {
        let usable = if size == 256 { 254 } else { size };
        if k < usable {
            let offset = scramble(k, usable, salt) + u64::from(size == 256);
            return std::net::Ipv4Addr::from(base + offset as u32);
        }
        k -= usable;
    }
    unreachable!("k is reduced modulo the pools' total")
}

/// The `k`-th /24 block of the pools, as a network address.
fn ipv4_block_at(k: u64, salt: u64) -> std::net::Ipv4Addr {
    let total: u64 = IPV4_POOLS.iter().map(|p| p.1 / 256).sum();
    let mut k = k % total;
    for &(base, size) in IPV4_POOLS {
        let blocks = size / 256;
        if k < blocks {
            return std::net::Ipv4Addr::from(base + (scramble(k, blocks, salt) as u32) * 256);
        }
        k -= blocks;
    }
    unreachable!("k is reduced modulo the pools' total")
}

/// Categories of earlier indicators that later ones may relate to.
#[derive(Clone, Copy)]
enum Cat {
    Actor,
    IntrusionSet,
    Malware,
    Tool,
    Campaign,
    AttackPattern,
    Cve,
    Identity,
    Location,
    Network,
}
const CATS: usize = 10;
const RECENT: usize = 8;

struct Generator {
    rng: Rng,
    salt: u64,
    now: i64,
    per_type: Vec<u64>,
    cumulative: Vec<u64>,
    recent: Vec<Vec<String>>,
}

const DAY: i64 = 86_400_000_000;
const HOUR: u64 = 3_600_000_000;

impl Generator {
    fn new(opts: &Options) -> Generator {
        let mut acc = 0;
        let cumulative = TYPES
            .iter()
            .map(|(_, w)| {
                acc += w;
                acc
            })
            .collect();
        Generator {
            rng: Rng(opts.seed ^ 0x7A11_ED6E_0000_0001),
            salt: mix(opts.seed),
            now: opts.now.micros(),
            per_type: vec![0; TYPES.len()],
            cumulative,
            recent: (0..CATS).map(|_| Vec::with_capacity(RECENT)).collect(),
        }
    }

    fn pick_type(&mut self, i: u64) -> usize {
        let n = TYPES.len() as u64;
        if i < n * GUARANTEED_ROUNDS {
            return (i % n) as usize;
        }
        let total = *self.cumulative.last().expect("TYPES is not empty");
        let r = self.rng.below(total);
        self.cumulative.iter().position(|&c| r < c).expect("r is below the total")
    }

    fn remember(&mut self, cat: Cat, value: &str) {
        let ring = &mut self.recent[cat as usize];
        if ring.len() == RECENT {
            ring.remove(0);
        }
        ring.push(value.to_string());
    }

    fn recent_of(&mut self, cats: &[Cat]) -> Option<String> {
        let available: Vec<Cat> = cats.iter().copied().filter(|c| !self.recent[*c as usize].is_empty()).collect();
        if available.is_empty() {
            return None;
        }
        let cat = *self.rng.pick(&available);
        Some(self.rng.pick(&self.recent[cat as usize]).clone())
    }

    fn time(&self, micros: i64) -> String {
        Timestamp(micros).to_micros_string()
    }

    fn tags(&mut self, extra: Option<&str>) -> Vec<Value> {
        let mut tags: Vec<&str> = Vec::new();
        if let Some(t) = extra {
            tags.push(t);
        }
        for _ in 0..self.rng.below(3) {
            let t = *self.rng.pick(TAGS);
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        tags.into_iter().map(|t| json!(t)).collect()
    }

    fn next_record(&mut self, i: u64) -> Value {
        let t = self.pick_type(i);
        let k = self.per_type[t];
        self.per_type[t] += 1;
        let xsoar_type = TYPES[t].0;
        // Each type draws its unique values from its own permutation of its space.
        let salt = self.salt ^ mix(t as u64 + 1);
        let rng = &mut self.rng;

        // Times: first seen within the year before now, modified between then and now.
        let created = self.now - rng.range(HOUR, 365 * DAY as u64) as i64;
        let modified = created + rng.below((self.now - created) as u64) as i64;
        let expiration = if rng.chance(15) { None } else { Some(modified + rng.range(30, 365) as i64 * DAY) };
        let score = *rng.pick(&[3, 3, 3, 3, 2, 2, 2, 1, 0, 0]);
        let tlp =
            if rng.chance(40) { Some(*rng.pick(&["WHITE", "GREEN", "GREEN", "AMBER", "AMBER", "RED"])) } else { None };

        let mut custom = Map::new();
        let mut brand = BRAND_THREAT;
        let mut tlp = tlp;
        let mut extra_tag = None;
        let mut rels: Vec<(&str, String)> = Vec::new();
        let value = match xsoar_type {
            "IP" => {
                let v = ipv4_at(k, salt).to_string();
                self.remember(Cat::Network, &v);
                v
            }
            "CIDR" => format!("{}/{}", ipv4_block_at(k, salt), self.rng.range(24, 28)),
            "IPv6" => {
                let s = scramble(k, 1 << 32, salt);
                let v = std::net::Ipv6Addr::new(
                    0x2001,
                    0x0db8,
                    (s >> 16) as u16,
                    s as u16,
                    0,
                    0,
                    self.rng.next() as u16,
                    self.rng.range(1, 0xffff) as u16,
                );
                v.to_string()
            }
            "IPv6CIDR" => {
                let s = scramble(k, 1 << 24, salt);
                let net =
                    std::net::Ipv6Addr::new(0x2001, 0x0db8, (s >> 8) as u16, ((s & 0xff) << 8) as u16, 0, 0, 0, 0);
                format!("{net}/{}", self.rng.pick(&[56, 64, 64]))
            }
            "Domain" | "DomainGlob" | "URL" | "Email" => {
                let phishing = xsoar_type != "DomainGlob" && self.rng.chance(40);
                if phishing {
                    brand = BRAND_PHISHING;
                    tlp = Some("WHITE");
                    extra_tag = Some("phishing");
                }
                let v = match xsoar_type {
                    "Domain" => domain(k, salt),
                    "DomainGlob" => format!("*.{}", domain(k, salt)),
                    "URL" => {
                        let host = domain(k, salt);
                        let sub = self.rng.pick(&["", "www.", "cdn.", "login.", "secure."]);
                        let scheme = self.rng.pick(&["http", "https", "https"]);
                        let path = self.rng.pick(URL_PATHS);
                        if self.rng.chance(30) {
                            format!("{scheme}://{sub}{host}/{path}?id={}", self.rng.hex(4))
                        } else {
                            format!("{scheme}://{sub}{host}/{path}")
                        }
                    }
                    _ => {
                        let local = combo(k, &[FIRST, LAST], ".", salt);
                        let zone = self.rng.pick(MAIL_ZONES);
                        format!("{local}@{zone}")
                    }
                };
                if xsoar_type != "Email" {
                    self.remember(Cat::Network, &v);
                }
                v
            }
            "File" => {
                brand = BRAND_MALWARE;
                let md5 = self.rng.hex(16);
                let sha1 = self.rng.hex(20);
                let sha256 = self.rng.hex(32);
                let sha512 = self.rng.hex(64);
                let v = match self.rng.below(10) {
                    0..=1 => md5.clone(),
                    2 => sha1.clone(),
                    3 => sha512.clone(),
                    _ => sha256.clone(),
                };
                let name =
                    format!("{}_{}.{}", self.rng.pick(FILE_STEMS), self.rng.range(1, 9999), self.rng.pick(FILE_EXTS));
                custom.insert("md5".into(), json!(md5));
                custom.insert("sha1".into(), json!(sha1));
                custom.insert("sha256".into(), json!(sha256));
                custom.insert("sha512".into(), json!(sha512));
                custom.insert("associatedfilenames".into(), json!([name]));
                custom.insert("size".into(), json!(self.rng.range(2_048, 8_000_000)));
                v
            }
            "Registry Key" => {
                brand = BRAND_MALWARE;
                let name = combo(k, &[CAMEL_A, CAMEL_B], "", salt);
                let path = self.rng.pick(REG_PATHS);
                let data = format!("C:\\Users\\Public\\{}.exe", name.to_ascii_lowercase());
                custom.insert("keyvalue".into(), json!([{"name": name, "data": data, "type": "REG_SZ"}]));
                format!("{path}\\{name}")
            }
            "Account" => {
                let login = combo(k, &[FIRST, LAST], ".", salt);
                let (kind, userid) = match self.rng.below(3) {
                    0 => (
                        "windows-local",
                        format!(
                            "S-1-5-21-{}-{}-{}-{}",
                            1_000_000_000 + k % 999,
                            2_000_000 + k % 777,
                            3_000 + k % 55,
                            1000 + k
                        ),
                    ),
                    1 => (
                        "windows-domain",
                        format!(
                            "S-1-5-21-{}-{}-{}-{}",
                            1_100_000_000 + k % 999,
                            2_100_000 + k % 777,
                            3_100 + k % 55,
                            2000 + k
                        ),
                    ),
                    _ => ("unix", (1000 + k).to_string()),
                };
                let display = login
                    .split('.')
                    .map(|p| {
                        let mut c = p.chars();
                        c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                custom.insert("accounttype".into(), json!(kind));
                custom.insert("userid".into(), json!(userid));
                custom.insert("displayname".into(), json!(display));
                login
            }
            "ASN" => {
                // Documentation ASNs 64496–64511, then private 64512–65534, then private 4200000000–.
                let n = match k {
                    0..=15 => 64_496 + scramble(k, 16, salt),
                    16..=1038 => 64_512 + scramble(k - 16, 1023, salt),
                    _ => 4_200_000_000 + (k - 1039) % 94_967_294,
                };
                custom.insert("name".into(), json!(format!("EXAMPLE-NET-{}", n % 1000)));
                format!("AS{n}")
            }
            "Software" => {
                let m = (VENDORS.len() * PRODUCTS.len()) as u64;
                let j = scramble(k, m, salt);
                let vendor = VENDORS[(j % m) as usize % VENDORS.len()];
                let product = PRODUCTS[(j % m) as usize / VENDORS.len()];
                // The major version keeps the value unique; the rest is for looks.
                let version = format!("{}.{}.{}", 1 + j / m, self.rng.below(20), self.rng.below(40));
                let slug = |s: &str| s.to_ascii_lowercase().replace(' ', "_");
                custom.insert("vendor".into(), json!(vendor));
                custom.insert("version".into(), json!(version));
                custom.insert(
                    "cpe".into(),
                    json!(format!("cpe:2.3:a:{}:{}:{version}:*:*:*:*:*:*:*", slug(vendor), slug(product))),
                );
                format!("{vendor} {product} {version}")
            }
            "X509 Certificate" => {
                let serial = format!("{:x}{}", self.rng.range(1, 7), self.rng.hex(15));
                let not_before = created - self.rng.range(0, 300) as i64 * DAY;
                let days = *self.rng.pick(&[90i64, 90, 365, 398]);
                let cn = domain(k, salt);
                custom.insert("validitynotbefore".into(), json!(self.time(not_before)));
                custom.insert("validitynotafter".into(), json!(self.time(not_before + days * DAY)));
                custom.insert(
                    "subject".into(),
                    json!([{"title": "CN", "data": cn}, {"title": "O", "data": "Example Hosting Ltd"}]),
                );
                let ca = self.rng.range(1, 3);
                custom.insert(
                    "issuer".into(),
                    json!([{"title": "CN", "data": format!("Example Issuing CA {ca}")}, {"title": "O", "data": "Example Trust Services"}]),
                );
                custom.insert("sha256".into(), json!(self.rng.hex(32)));
                serial
            }
            "Mutex" => {
                brand = BRAND_MALWARE;
                let scope = self.rng.pick(&["Global", "Local"]);
                let a = self.rng.pick(CAMEL_A);
                format!("{scope}\\{a}Mtx_{:08x}", scramble(k, 1 << 32, salt))
            }
            "CVE" => {
                let (v, cvss) = match CVES.get(k as usize) {
                    Some(&(id, cvss)) => (id.to_string(), cvss),
                    None => {
                        let j = k - CVES.len() as u64;
                        let year = 2020 + j % 7;
                        let cvss = self.rng.range(20, 100) as f64 / 10.0;
                        (format!("CVE-{year}-{}", 90_000 + j / 7), cvss)
                    }
                };
                custom.insert("cvss".into(), json!(cvss));
                custom.insert("description".into(), json!(format!("Vulnerability {v} (synthetic record).")));
                custom.insert(
                    "externalreferences".into(),
                    json!([{"source_name": "cve", "url": format!("https://www.cve.org/CVERecord?id={v}"), "external_id": v}]),
                );
                self.remember(Cat::Cve, &v);
                v
            }
            "Attack Pattern" => {
                brand = BRAND_REPORTS;
                let (id, name, phase) = TECHNIQUES[k as usize % TECHNIQUES.len()];
                let round = k / TECHNIQUES.len() as u64;
                let v = if round == 0 { name.to_string() } else { format!("{name} (variant {})", round + 1) };
                let url = format!("https://attack.mitre.org/techniques/{}/", id.replace('.', "/"));
                custom.insert("mitreid".into(), json!(id));
                custom.insert("killchainphases".into(), json!([phase]));
                custom.insert("description".into(), json!(format!("Adversaries use {name}.")));
                custom.insert(
                    "externalreferences".into(),
                    json!([{"source_name": "mitre-attack", "url": url, "external_id": id}]),
                );
                self.remember(Cat::AttackPattern, &v);
                v
            }
            "Threat Actor" => {
                brand = BRAND_REPORTS;
                let v = combo(k, &[MINERALS, BIRDS], " ", salt);
                let alias = format!("TA-{:04}", scramble(k, 10_000, salt));
                custom.insert("aliases".into(), json!([alias]));
                custom.insert(
                    "description".into(),
                    json!(format!("{v} is a fictional threat actor made for the demo feed.")),
                );
                self.remember(Cat::Actor, &v);
                for _ in 0..self.rng.below(3) {
                    if let Some(target) = self.recent_of(&[Cat::Malware, Cat::Tool, Cat::AttackPattern]) {
                        rels.push(("uses", target));
                    }
                }
                if self.rng.chance(50) {
                    if let Some(target) = self.recent_of(&[Cat::Identity, Cat::Location]) {
                        rels.push(("targets", target));
                    }
                }
                v
            }
            "Intrusion Set" => {
                brand = BRAND_REPORTS;
                let v = combo(k, &[TREES, &["Cluster", "Group", "Set"]], " ", salt);
                custom.insert("aliases".into(), json!([format!("IS-{:04}", scramble(k, 10_000, salt))]));
                custom.insert("description".into(), json!(format!("{v}: a fictional intrusion set.")));
                self.remember(Cat::IntrusionSet, &v);
                if let Some(target) = self.recent_of(&[Cat::Actor]) {
                    rels.push(("attributed-to", target));
                }
                if let Some(target) = self.recent_of(&[Cat::Malware]) {
                    rels.push(("uses", target));
                }
                v
            }
            "Malware" => {
                brand = BRAND_MALWARE;
                let m = (MALWARE_PREFIX.len() * MALWARE_SUFFIX.len()) as u64;
                let j = scramble(k, m, salt);
                let (prefix, (suffix, kind)) = (
                    MALWARE_PREFIX[(j % m) as usize % MALWARE_PREFIX.len()],
                    MALWARE_SUFFIX[(j % m) as usize / MALWARE_PREFIX.len()],
                );
                let v =
                    if j / m == 0 { format!("{prefix}{suffix}") } else { format!("{prefix}{suffix} {}", j / m + 1) };
                custom.insert("ismalwarefamily".into(), json!(self.rng.chance(80)));
                custom.insert("malwaretypes".into(), json!([kind]));
                custom.insert("aliases".into(), json!([v.to_ascii_lowercase()]));
                custom.insert("killchainphases".into(), json!(["execution", "command-and-control"]));
                custom.insert("description".into(), json!(format!("{v}: fictional {kind} family.")));
                if kind == "ransomware" {
                    extra_tag = Some("ransomware");
                }
                self.remember(Cat::Malware, &v);
                if let Some(target) = self.recent_of(&[Cat::AttackPattern]) {
                    rels.push(("uses", target));
                }
                if self.rng.chance(40) {
                    if let Some(target) = self.recent_of(&[Cat::Cve]) {
                        rels.push(("exploits", target));
                    }
                }
                v
            }
            "Tool" => {
                let name = TOOLS[k as usize % TOOLS.len()];
                let round = k / TOOLS.len() as u64;
                let v = if round == 0 { name.to_string() } else { format!("{name} {}", round + 1) };
                custom.insert("description".into(), json!(format!("{v}: a dual-use tool seen in intrusions.")));
                custom.insert("killchainphases".into(), json!(["lateral-movement"]));
                self.remember(Cat::Tool, &v);
                v
            }
            "Campaign" => {
                brand = BRAND_REPORTS;
                let words = combo(k, &[ADJECTIVES, NOUNS], " ", salt);
                let v = format!("Operation {}", title_case(&words));
                custom.insert("description".into(), json!(format!("{v}: a fictional campaign.")));
                custom.insert("aliases".into(), json!([format!("CMP-{:04}", scramble(k, 10_000, salt))]));
                self.remember(Cat::Campaign, &v);
                if let Some(target) = self.recent_of(&[Cat::IntrusionSet, Cat::Actor]) {
                    rels.push(("attributed-to", target));
                }
                if let Some(target) = self.recent_of(&[Cat::Malware, Cat::Tool]) {
                    rels.push(("uses", target));
                }
                v
            }
            "Course of Action" => {
                brand = BRAND_REPORTS;
                let v = combo(k, &[COA_VERBS, COA_OBJECTS], " ", salt);
                custom.insert("description".into(), json!(format!("{v}.")));
                if let Some(target) = self.recent_of(&[Cat::AttackPattern]) {
                    rels.push(("mitigates", target));
                }
                v
            }
            "Infrastructure" => {
                let m = (INFRA_KINDS.len() * GREEK.len()) as u64;
                let j = scramble(k, m, salt);
                let (kind, itype) = INFRA_KINDS[(j % m) as usize % INFRA_KINDS.len()];
                let greek = GREEK[(j % m) as usize / INFRA_KINDS.len()];
                let greek = if j / m == 0 { greek.to_string() } else { format!("{greek}-{}", j / m + 1) };
                let adj = *self.rng.pick(ADJECTIVES);
                let v = format!("{} {kind} {greek}", title_case(adj));
                custom.insert("infrastructuretypes".into(), json!([itype]));
                custom.insert("description".into(), json!(format!("{v}: fictional infrastructure.")));
                if let Some(target) = self.recent_of(&[Cat::Malware]) {
                    rels.push(("related-to", target));
                }
                v
            }
            "Report" => {
                brand = BRAND_REPORTS;
                let (week, year, part) = (1 + k % 52, 2026 - (k / 52) % 10, k / 520);
                let v = if part == 0 {
                    format!("Weekly threat report {year}-W{week:02}")
                } else {
                    format!("Weekly threat report {year}-W{week:02} part {}", part + 1)
                };
                custom.insert("published".into(), json!(self.time(modified)));
                custom.insert("reportobjectreferences".into(), json!([]));
                custom.insert("description".into(), json!(format!("{v}: synthetic summary of the week's activity.")));
                for _ in 0..self.rng.range(1, 3) {
                    if let Some(target) = self.recent_of(&[Cat::Actor, Cat::Malware, Cat::Campaign, Cat::Cve]) {
                        rels.push(("related-to", target));
                    }
                }
                v
            }
            "Identity" => {
                let m = (ORGS.len() * SECTORS.len()) as u64;
                let j = scramble(k, m, salt);
                let org = ORGS[(j % m) as usize % ORGS.len()];
                let (sector, stix_sector) = SECTORS[(j % m) as usize / ORGS.len()];
                let v = if j / m == 0 { format!("{org} {sector}") } else { format!("{org} {sector} {}", j / m + 1) };
                custom.insert("identityclass".into(), json!("organization"));
                custom.insert("industrysectors".into(), json!([stix_sector]));
                custom.insert("description".into(), json!(format!("{v}: a fictional organization.")));
                self.remember(Cat::Identity, &v);
                v
            }
            "Location" => {
                let (country, code, region) = COUNTRIES[k as usize % COUNTRIES.len()];
                let round = k / COUNTRIES.len() as u64;
                let v = if round == 0 { country.to_string() } else { format!("{country} (site {})", round + 1) };
                custom.insert("countrycode".into(), json!(code));
                custom.insert("region".into(), json!(region));
                self.remember(Cat::Location, &v);
                v
            }
            other => unreachable!("TYPES lists only handled types, not {other}"),
        };

        let observable = matches!(
            xsoar_type,
            "IP" | "CIDR"
                | "IPv6"
                | "IPv6CIDR"
                | "Domain"
                | "DomainGlob"
                | "URL"
                | "Email"
                | "File"
                | "Registry Key"
                | "Mutex"
                | "X509 Certificate"
                | "Account"
                | "ASN"
                | "Software"
        );
        // Context objects (victims, techniques, mitigations, reports) carry no verdict and no threat tags.
        let context = matches!(xsoar_type, "Identity" | "Location" | "Attack Pattern" | "Course of Action" | "Report");
        // Observables: some point at malware, campaigns or actors seen recently, or at each other.
        if observable {
            if self.rng.chance(20) {
                if let Some(target) = self.recent_of(&[Cat::Malware, Cat::Campaign, Cat::Actor]) {
                    rels.push(("indicator-of", target));
                }
            }
            if self.rng.chance(10) {
                if let Some(target) = self.recent_of(&[Cat::Network]) {
                    if target != value {
                        rels.push(("related-to", target));
                    }
                }
            }
        }
        let mut seen = Vec::with_capacity(rels.len());
        rels.retain(|r| {
            let new = !seen.contains(r);
            seen.push(r.clone());
            new
        });

        let mut tags = self.tags(extra_tag);
        if context {
            tags.clear();
        }
        if let Some(tlp) = tlp {
            custom.insert("trafficlightprotocol".into(), json!(tlp));
        }
        if observable && self.rng.chance(25) {
            let what = tags.first().and_then(Value::as_str).unwrap_or("suspicious");
            custom.insert("description".into(), json!(format!("Synthetic {xsoar_type} linked to {what} activity.")));
        }

        let mut o = Map::new();
        o.insert("id".into(), json!((100_000 + i).to_string()));
        o.insert("value".into(), json!(value));
        o.insert("indicator_type".into(), json!(xsoar_type));
        o.insert("score".into(), json!(if context { 0 } else { score }));
        o.insert("timestamp".into(), json!(self.time(created)));
        o.insert("modified".into(), json!(self.time(modified)));
        let expired = expiration.is_some_and(|e| e <= self.now);
        o.insert(
            "expiration".into(),
            json!(expiration.map_or_else(|| "0001-01-01T00:00:00Z".to_string(), |e| self.time(e))),
        );
        o.insert("expirationStatus".into(), json!(if expired { "expired" } else { "active" }));
        o.insert("sourceBrands".into(), json!([brand]));
        o.insert("sourceInstances".into(), json!([format!("{brand}_instance_1")]));
        o.insert("tags".into(), Value::Array(tags));
        o.insert("CustomFields".into(), Value::Object(custom));
        if !rels.is_empty() {
            let rels: Vec<Value> = rels
                .into_iter()
                .map(|(name, target)| {
                    let mut r = Map::new();
                    r.insert("name".into(), json!(name));
                    r.insert("entityB".into(), json!(target));
                    if self.rng.chance(50) {
                        r.insert("id".into(), json!(self.rng.hex(16)));
                    }
                    if self.rng.chance(30) {
                        r.insert("description".into(), json!("Seen together in synthetic telemetry."));
                    }
                    Value::Object(r)
                })
                .collect();
            o.insert("relationships".into(), Value::Array(rels));
        }
        Value::Object(o)
    }
}

/// The `k`-th domain: two words and a zone, e.g. `quiet-harbor.example.com` or `rapid-signal.test`.
fn domain(k: u64, salt: u64) -> String {
    let label = combo(k, &[ADJECTIVES, NOUNS], "-", salt);
    let zone = ZONES[(scramble(k, 1 << 20, salt) % ZONES.len() as u64) as usize];
    format!("{label}.{zone}")
}

fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scramble_is_a_bijection_on_each_block() {
        for m in [1u64, 7, 254, 256, 576, 1023, 1 << 12] {
            let mut seen: Vec<u64> = (0..2 * m).map(|k| scramble(k, m, 42)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..2 * m).collect::<Vec<_>>(), "m = {m}");
        }
    }

    #[test]
    fn combos_are_unique_past_the_word_lists() {
        let mut names: Vec<String> = (0..5000).map(|k| combo(k, &[FIRST, LAST], ".", 42)).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 5000);
    }

    #[test]
    fn ipv4_addresses_are_unique_and_start_in_documentation_space() {
        let first: Vec<_> = (0..762).map(|k| ipv4_at(k, 42)).collect();
        assert!(first.iter().all(|a| a.is_documentation()), "{first:?}");
        let mut all: Vec<_> = (0..200_000).map(|k| ipv4_at(k, 42)).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 200_000);
    }
}
