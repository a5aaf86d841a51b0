//! Background work every replica runs beside serving (the scraper and the demo generator live
//! in their own modules).

pub mod usage;
