//! Compiles the page templates (`templates/pages/`) into the binary, so that a release
//! needs no template files beside it.

fn main() {
    minijinja_embed::embed_templates!("templates/pages", &[".html"]);
}
