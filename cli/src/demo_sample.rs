//! The demo's sample roster and doorstep photos, built into the binary so `salur demo` runs from
//! any folder. The photos are public test images from `test-vectors/faces/` and the head-turn
//! frames from `test-vectors/liveness/motion/` (sources and licences in their SOURCES.md); the
//! names, NIKs and addresses are invented.

use salur_server::domain::roster::RosterRow;

macro_rules! photo {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/faces/", $path))
    };
}

macro_rules! frame {
    ($n:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/liveness/motion/lp_d12/", $n, ".jpg"))
    };
}

/// A real person at the door following the challenge (turn left, then right): camera frames at
/// [`LIVE_FPS`] per second.
pub const LIVE_FRAMES: &[&[u8]] = &[
    frame!("0000"),
    frame!("0001"),
    frame!("0002"),
    frame!("0003"),
    frame!("0004"),
    frame!("0005"),
    frame!("0006"),
    frame!("0007"),
    frame!("0008"),
    frame!("0009"),
    frame!("0010"),
    frame!("0011"),
    frame!("0012"),
    frame!("0013"),
    frame!("0014"),
    frame!("0015"),
    frame!("0016"),
    frame!("0017"),
    frame!("0018"),
    frame!("0019"),
    frame!("0020"),
    frame!("0021"),
    frame!("0022"),
    frame!("0023"),
    frame!("0024"),
    frame!("0025"),
    frame!("0026"),
    frame!("0027"),
    frame!("0028"),
    frame!("0029"),
    frame!("0030"),
    frame!("0031"),
    frame!("0032"),
    frame!("0033"),
    frame!("0034"),
    frame!("0035"),
    frame!("0036"),
    frame!("0037"),
    frame!("0038"),
    frame!("0039"),
    frame!("0040"),
];

/// Frame rate of [`LIVE_FRAMES`].
pub const LIVE_FPS: f64 = 8.333;

/// What happens at one doorstep of the route.
#[derive(Debug, Clone, Copy)]
pub enum Visit {
    /// The recipient does the live check (head turns) and is paid by face.
    Live(&'static [&'static [u8]]),
    /// Someone holds the recipient's photo up to the camera and moves it: nothing paid. Then a
    /// member of the recipient's KK collects with the surat kuasa: her own e-KTP photo (`card`)
    /// and her live face (`frames`, following the challenge).
    PhotoHeldUpThenProxy { photo: &'static [u8], card: &'static [u8], frames: &'static [&'static [u8]] },
    /// The camera sees these in turn (hints) until the recipient's face matches; she cannot turn
    /// her head, so the supervisor vouches (override, reason "cannot do the live check").
    CannotDoLiveCheck(&'static [&'static [u8]]),
    /// Someone else presents themself as the recipient: rejected, nothing paid.
    Impostor(&'static [u8]),
    /// Found deceased by the worker.
    Deceased,
    /// Nobody home.
    NotHome,
    /// A genuine recipient whose photo the camera refuses (too dark); a supervisor vouches.
    Override(&'static [u8]),
}

/// Budi Santoso's daughter, in his KK, who collects for him with a surat kuasa.
pub const PROXY: (&str, &str) = ("3171010101700012", "Sri Santoso");

/// One recipient: (NIK, name, address, reference photo, the visit).
pub struct Sample {
    pub nik: &'static str,
    pub name: &'static str,
    pub address: &'static str,
    pub reference: &'static [u8],
    pub visit: Visit,
}

/// The day's route, in order.
pub const ROUTE: &[Sample] = &[
    Sample {
        nik: "3171010101700001",
        name: "Siti Rahayu",
        address: "Jl. Merdeka 1",
        reference: frame!("0060"),
        visit: Visit::Live(LIVE_FRAMES),
    },
    Sample {
        nik: "3171010101700002",
        name: "Budi Santoso",
        address: "Jl. Merdeka 2",
        reference: photo!("same/fr_obama/1.jpg"),
        // The head-turn recording is of one person only: it stands in for his daughter too.
        visit: Visit::PhotoHeldUpThenProxy {
            photo: photo!("same/fr_obama/2.jpg"),
            card: frame!("0060"),
            frames: LIVE_FRAMES,
        },
    },
    Sample {
        nik: "3171010101700003",
        name: "Wati Kurniasih",
        address: "Jl. Sudirman 3",
        reference: photo!("same/fr_kit_harington/1.jpg"),
        // First the camera points at the coffee cup, then a neighbour is in the frame too.
        visit: Visit::CannotDoLiveCheck(&[
            photo!("noface/skimage_coffee.jpg"),
            photo!("multi/fr_kit_with_rose.jpg"),
            photo!("same/fr_kit_harington/2.jpg"),
        ]),
    },
    Sample {
        nik: "3171010101700004",
        name: "Rahmat Hidayat",
        address: "Jl. Sudirman 4",
        reference: photo!("same/fr_rose_leslie/1.jpg"),
        visit: Visit::Impostor(photo!("same/fr_alex_lacamoire/1.jpg")),
    },
    Sample {
        nik: "3171010101700005",
        name: "Agus Salim",
        address: "Jl. Thamrin 5",
        reference: photo!("same/openface_clapton/1.jpg"),
        visit: Visit::Deceased,
    },
    Sample {
        nik: "3171010101700006",
        name: "Dewi Lestari",
        address: "Jl. Thamrin 6",
        reference: photo!("same/openface_lennon/1.jpg"),
        visit: Visit::NotHome,
    },
    Sample {
        nik: "3171010101700007",
        name: "Slamet Riyadi",
        address: "Jl. Gatot Subroto 7",
        reference: photo!("same/deepface_elon/1.jpg"),
        visit: Visit::Override(photo!("same/deepface_elon/2.jpg")),
    },
];

/// The roster id of the demo.
pub const ROSTER: &str = "blt-demo";
/// The worker walking the route.
pub const WORKER: &str = "pos-demo-01";
/// Their post office.
pub const POST_OFFICE: &str = "jakarta-10110";
/// Each recipient's aid.
pub const AMOUNT: u64 = 600_000;

impl Sample {
    /// The roster row as `salur import-roster` would read it.
    pub fn row(&self) -> RosterRow {
        RosterRow {
            nik: self.nik.into(),
            name: self.name.into(),
            address: self.address.into(),
            province: "31".into(),
            regency: "3171".into(),
            district: "317101".into(),
            village: "3171011001".into(),
            post_office: POST_OFFICE.into(),
            amount: AMOUNT,
            period: ROSTER.into(),
            worker_id: WORKER.into(),
            photo: None,
            kk_members: matches!(self.visit, Visit::PhotoHeldUpThenProxy { .. })
                .then(|| format!("{}:{}", PROXY.0, PROXY.1)),
        }
    }
}
