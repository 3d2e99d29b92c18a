/// PaneTools: rate-distortion sweeps against other codecs (`RD/`) and the
/// directory batch runner (`Batch/`), used by the `pane rd` and `pane batch` commands.
public enum PaneTools {}
