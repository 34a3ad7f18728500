//! The demo's sample roster and doorstep photos, built into the binary so `salur demo` runs from
//! any folder. The photos are public test images from `test-vectors/faces/` (sources and licences
//! in its SOURCES.md); the names, NIKs and addresses are invented.

use salur_server::domain::roster::RosterRow;

macro_rules! photo {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../test-vectors/faces/", $path))
    };
}

/// What happens at one doorstep of the route.
#[derive(Debug, Clone, Copy)]
pub enum Visit {
    /// The recipient shows their face (each photo in turn until one is accepted) and is paid.
    Paid(&'static [&'static [u8]]),
    /// Someone else presents themself as the recipient: rejected, nothing paid.
    Impostor(&'static [u8]),
    /// Found deceased by the worker.
    Deceased,
    /// Nobody home.
    NotHome,
    /// A genuine recipient whose photo the camera refuses (too dark); a supervisor vouches.
    Override(&'static [u8]),
}

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
        reference: photo!("same/fr_biden/1.jpg"),
        visit: Visit::Paid(&[photo!("same/fr_biden/2.jpg")]),
    },
    Sample {
        nik: "3171010101700002",
        name: "Budi Santoso",
        address: "Jl. Merdeka 2",
        reference: photo!("same/fr_obama/1.jpg"),
        visit: Visit::Paid(&[photo!("same/fr_obama/2.jpg")]),
    },
    Sample {
        nik: "3171010101700003",
        name: "Wati Kurniasih",
        address: "Jl. Sudirman 3",
        reference: photo!("same/fr_kit_harington/1.jpg"),
        // First the camera points at the coffee cup, then a neighbour is in the frame too.
        visit: Visit::Paid(&[
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
        }
    }
}
