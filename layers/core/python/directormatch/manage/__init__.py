"""Directors manage themselves through a signed link: pause and resume offers, capacity, modalities
and fee schedule. `changes` decides what a form post changes (pure), `service` applies it (one
transaction, an audit item, a confirmation email), `page` shows it."""
