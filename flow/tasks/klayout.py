"""SiliconCompiler's KLayout GDS export with the cells' layouts merged in (the script in
``scripts/klayout_export.py`` says why)."""

from __future__ import annotations

from pathlib import Path

from siliconcompiler.tools.klayout.export import ExportTask

PICTURE_PIXELS = 1600


class GdsExportTask(ExportTask):
    """The export and its screenshot, every standard cell taken from the library's GDS."""

    def setup(self) -> None:
        super().setup()
        script = Path(__file__).parent / "scripts" / "klayout_export.py"
        self.set_script(str(script), dataroot=None, clobber=True)
        self.set_klayout_resolution(PICTURE_PIXELS, PICTURE_PIXELS)
