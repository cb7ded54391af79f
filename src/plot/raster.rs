//! The PNG backend: plotters' bitmap backend with text laid out glyph by
//! glyph from the embedded Noto Sans.
//!
//! plotters' own ab_glyph text drawing places each glyph at the pen position
//! without its left side bearing and truncates its vertical offset, so an
//! `i` slides into the letter before it ("fajlover" for "failover"). This
//! wrapper draws text the usual way instead: the pen advances by each
//! glyph's advance and kerning, each outline is placed at the pen plus its
//! own bounds, on a baseline one ascent below the top of the text box.
//! Everything else goes straight to the bitmap backend.

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::{BitMapBackend, DrawingBackend};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind, FontStyle,
};

type Error = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

/// A bitmap backend that draws its own text (see the module's comment).
pub struct PngBackend<'a> {
    inner: BitMapBackend<'a>,
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

impl<'a> PngBackend<'a> {
    /// Draw into `rgb` (8-bit RGB, `size` pixels).
    pub fn with_buffer(rgb: &'a mut [u8], size: (u32, u32)) -> Self {
        let font = |bytes: &'static [u8]| {
            FontRef::try_from_slice(bytes).expect("the embedded Noto Sans is a valid font")
        };
        PngBackend {
            inner: BitMapBackend::with_buffer(rgb, size),
            regular: font(ttf_noto_sans::REGULAR),
            bold: font(ttf_noto_sans::BOLD),
        }
    }

    fn font(&self, style: FontStyle) -> &FontRef<'static> {
        match style {
            FontStyle::Bold => &self.bold,
            _ => &self.regular,
        }
    }
}

/// The width of `text` in pixels at `scale`: advances and kerning.
fn width<F: Font>(font: &F, scale: PxScale, text: &str) -> f32 {
    let f = font.as_scaled(scale);
    let mut w = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            w += f.kern(p, id);
        }
        w += f.h_advance(id);
        prev = Some(id);
    }
    w
}

impl DrawingBackend for PngBackend<'_> {
    type ErrorType = Error;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Error>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    /// The text box: the advance width, and the font's full height (ascent
    /// to descent) at the style's size.
    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Error>> {
        let font = self.font(style.style());
        let scale = PxScale::from(style.size() as f32);
        Ok((
            width(font, scale, text).ceil() as u32,
            font.as_scaled(scale).height().ceil() as u32,
        ))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Error>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let font = self.font(style.style()).clone();
        let scale = PxScale::from(style.size() as f32);
        let scaled = font.as_scaled(scale);
        let w = width(&font, scale, text);
        let h = scaled.height();
        // The anchor picks which point of the text box is `pos`.
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -w / 2.0,
            HPos::Right => -w,
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => 0.0,
            VPos::Center => -h / 2.0,
            VPos::Bottom => -h,
        };
        let trans = style.transform();
        let (bw, bh) = self.get_size();
        let mut pen = 0.0f32;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                pen += scaled.kern(p, id);
            }
            prev = Some(id);
            // Positioned in the unrotated text box: x from its left, y
            // from its top, the baseline one ascent down.
            let glyph = id.with_scale_and_position(scale, point(pen + dx, scaled.ascent() + dy));
            pen += scaled.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let b = outline.px_bounds();
            let mut pixels = Vec::new();
            outline.draw(|x, y, cov| {
                pixels.push((b.min.x as i32 + x as i32, b.min.y as i32 + y as i32, cov))
            });
            for (x, y, cov) in pixels {
                if cov <= 0.0 {
                    continue;
                }
                let (x, y) = trans.transform(x, y);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if x >= 0 && y >= 0 && (x as u32) < bw && (y as u32) < bh {
                    self.inner.draw_pixel(
                        (x, y),
                        BackendColor {
                            alpha: color.alpha * f64::from(cov.min(1.0)),
                            rgb: color.rgb,
                        },
                    )?;
                }
            }
        }
        Ok(())
    }
}
