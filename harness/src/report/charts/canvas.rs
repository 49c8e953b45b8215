//! The SVG surface every chart shares: document, title strip, empty-panel note, draw error.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A pixel-addressed region of an SVG document.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Font family of every text: the viewer picks a local font, so nothing is fetched.
pub(crate) const FONT: &str = "sans-serif";
/// Text sizes (plotters units; the SVG's px size is this / 1.24), chosen so labels stay
/// readable when the 1100-px-wide chart is scaled down in the page.
pub(crate) const TITLE_SIZE: u32 = 26;
pub(crate) const CAPTION_SIZE: u32 = 20;
pub(crate) const TICK_SIZE: u32 = 16;
pub(crate) const DESC_SIZE: u32 = 17;
pub(crate) const LEGEND_SIZE: u32 = 17;
const NOTE_SIZE: u32 = 24;
/// Grid colours: bold lines at labelled ticks, one faint line between them.
pub(crate) const GRID_BOLD: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
pub(crate) const GRID_LIGHT: RGBColor = RGBColor(0xf1, 0xf1, 0xf1);
/// Colour of axis text, notes and the neutral legend keys.
pub(crate) const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
/// Colour of "no samples" / "not measured" notes: readable but clearly not data.
pub(crate) const MUTED: RGBColor = RGBColor(0x77, 0x77, 0x77);

/// Every chart's mesh in the house style.
pub(crate) fn house_mesh<'m, 'a, 'b, X, Y, DB>(
    mesh: &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut plotters::chart::MeshStyle<'a, 'b, X, Y, DB>
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
    DB: DrawingBackend,
{
    mesh.label_style((FONT, TICK_SIZE).into_font().color(&INK))
        .axis_desc_style((FONT, DESC_SIZE).into_font().color(&INK))
        .bold_line_style(GRID_BOLD)
        .light_line_style(GRID_LIGHT)
        .max_light_lines(1)
}

/// A failed plotters call, as text: plotters' error types borrow the backend's, and the report
/// only needs the message (the caller adds which chart).
#[derive(Debug)]
pub(crate) struct DrawError(pub(crate) String);

/// What drawing gives: `T` (nothing, an area, a document), or why it failed.
pub(crate) type Drawn<T = ()> = Result<T, DrawError>;

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        DrawError(e.to_string())
    }
}

/// Renders one SVG document of `size` pixels by running `draw` on a white canvas; to a string, so
/// drawing is free of I/O and the caller reports write errors with the file's path.
pub(crate) fn render_svg(size: (u32, u32), draw: impl FnOnce(&Area<'_>) -> Drawn) -> Drawn<String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(buf)
}

/// A text style at `size` in `colour`, anchored at `(h, v)`.
pub(crate) fn text<'a>(size: u32, colour: &'a RGBColor, h: HPos, v: VPos) -> TextStyle<'a> {
    TextStyle::from((FONT, size).into_font())
        .color(colour)
        .pos(Pos::new(h, v))
}

/// Height of the title strip [`titled`] takes.
pub(crate) const TITLE_H: u32 = 46;

/// Draws `title` centred at the top of `area` and returns the area below it.
pub(crate) fn titled<'a>(area: &Area<'a>, title: &str) -> Drawn<Area<'a>> {
    let (w, _) = area.dim_in_pixel();
    let style = text(TITLE_SIZE, &INK, HPos::Center, VPos::Top);
    area.draw_text(title, &style, (w as i32 / 2, 12))?;
    Ok(area.split_vertically(TITLE_H).1)
}

/// Draws a panel that has nothing to plot: its caption and a note saying why it is empty.
pub(crate) fn empty_panel(area: &Area<'_>, caption: &str, note: &str) -> Drawn {
    let (w, h) = area.dim_in_pixel();
    let cap = text(CAPTION_SIZE, &INK, HPos::Center, VPos::Top);
    area.draw_text(caption, &cap, (w as i32 / 2, 8))?;
    area.draw(&Rectangle::new(
        [(70, 40), (w as i32 - 10, h as i32 - 40)],
        RGBColor(0xcc, 0xcc, 0xcc).stroke_width(1),
    ))?;
    let body = text(NOTE_SIZE, &MUTED, HPos::Center, VPos::Center);
    area.draw_text(note, &body, (w as i32 / 2 + 30, h as i32 / 2))?;
    Ok(())
}
