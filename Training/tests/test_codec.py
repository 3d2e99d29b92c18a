"""Tests of the Python reference codec (Training/codec.py) and of the conformance fixtures it shares
with the Swift codec (Tests/PaneModelTests/Fixtures/conformance/, see make_conformance_fixtures.py)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bitstream as bs  # noqa: E402
import codec as pane  # noqa: E402
import make_bitstream_fixtures  # noqa: E402
import make_conformance_fixtures as fixtures  # noqa: E402
import rans  # noqa: E402

torch.set_num_threads(1)
CONFORMANCE = fixtures.FIXTURES
META = json.loads((CONFORMANCE / "conformance.json").read_text())
PARITY = fixtures.ROOT / "Tests" / "PaneModelTests" / "Fixtures"
SWIFT_STREAMS = sorted(p.stem for p in CONFORMANCE.glob("swift_*.json"))
REGENERATE_SWIFT = ("PANE_WRITE_CONFORMANCE=1 swift test -c release -Xswiftc -enable-testing "
                    "--filter 'ConformanceTests/swiftWritten'")


@pytest.fixture(scope="module")
def codec():
    return pane.Codec()


def load_case(name):
    case = json.loads((CONFORMANCE / f"{name}.json").read_text())
    for key in ("z_hat", "y_hat"):
        case[key] = np.array(case[key]["data"], dtype=np.int64).reshape(case[key]["shape"])
    case["bytes"] = (CONFORMANCE / case["stream"]).read_bytes()
    return case


def rgba(width, height, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=2)
    noise = rng.integers(-20, 21, size=base.shape)
    colour = np.clip(base + noise, 0, 255).astype(np.uint8)
    alpha = rng.integers(0, 256, size=(height, width, 1), dtype=np.uint8)
    return np.concatenate([colour, alpha], axis=2)


# ----- the model files -----
def test_fixtures_belong_to_the_shipped_model(codec):
    assert META["model_sha256"] == codec.manifest["sha256"], "rerun Training/tests/make_conformance_fixtures.py"
    assert codec.model_id == bytes.fromhex(codec.manifest["sha256"][:16])


def test_integer_path_from_the_model_file_reproduces_the_export_fixture(codec):
    """from_tensors gives the very integers export.write_fixtures computed with the built model."""
    from safetensors.numpy import load_file
    from export import integer_symbols

    meta = json.loads((PARITY / "parity.json").read_text())
    if meta["model_sha256"] != codec.manifest["sha256"]:
        pytest.skip("parity fixtures belong to another model")
    fx = load_file(str(PARITY / "parity.safetensors"))
    hyper = codec.entropy.hyper(fx["z_hat"].astype(np.int64))
    assert (hyper == fx["int.hyper"]).all()
    y_hat, trace = codec.entropy.decode_slices(hyper, integer_symbols(fx["y_gained"], codec.slice_size, 12))
    assert (np.concatenate([t[0] for t in trace]) == fx["int.mean"]).all()
    assert (np.concatenate([t[1] for t in trace]) == fx["int.scale_index"]).all()
    assert (y_hat == fx["int.y_hat"]).all()


def test_float_parts_from_the_model_file_match_the_export_fixture(codec):
    """g_a, h_a, g_s and the gains loaded from the safetensors (GDN effective values as stored)."""
    from safetensors.numpy import load_file

    meta = json.loads((PARITY / "parity.json").read_text())
    if meta["model_sha256"] != codec.manifest["sha256"]:
        pytest.skip("parity fixtures belong to another model")
    fx = {k: torch.from_numpy(v) for k, v in load_file(str(PARITY / "parity.safetensors")).items()}

    def close(a, b, rel=1e-5):
        assert (a - b).abs().max().item() <= rel * b.abs().max().item()

    gain, inverse = codec.gains(meta["quality"])
    close(torch.from_numpy(gain), fx["gain"])
    close(torch.from_numpy(inverse), fx["inv_gain"])
    with torch.no_grad():
        close(codec.net.g_a(fx["x"][None])[0], fx["y"])
        close(codec.net.h_a(fx["y_gained"][None])[0], fx["z"])
        close(codec.net.g_s((fx["y_hat"] * fx["inv_gain"][:, None, None])[None])[0], fx["x_hat"])


def test_loader_refuses_a_changed_integer_path(codec):
    from safetensors.numpy import load_file
    from entropy_int import IntegerEntropyModel

    tensors = load_file(str(pane.DEFAULT_MODEL.parent / codec.manifest["weights"]))
    broken = dict(tensors)
    broken["int.h_s.0.shift"] = np.zeros_like(tensors["int.h_s.0.shift"])
    with pytest.raises(ValueError, match="int.h_s.0"):
        IntegerEntropyModel.from_tensors(broken, codec.manifest)
    del broken["int.lrp_table"]
    broken["int.h_s.0.shift"] = tensors["int.h_s.0.shift"]
    with pytest.raises(KeyError, match="int.lrp_table"):
        IntegerEntropyModel.from_tensors(broken, codec.manifest)
    manifest = json.loads(json.dumps(codec.manifest))
    manifest["entropy_int"]["mean_bits"] = 10
    with pytest.raises(ValueError, match="mean_bits"):
        IntegerEntropyModel.from_tensors(tensors, manifest)


def test_integer_weights_are_int16_and_older_int32_files_load_alike(codec):
    from safetensors.numpy import load_file
    from entropy_int import IntegerEntropyModel

    tensors = load_file(str(pane.DEFAULT_MODEL.parent / codec.manifest["weights"]))
    weights = [k for k in tensors if k.startswith("int.") and k.endswith(".weight")]
    assert weights and all(tensors[k].dtype == np.int16 for k in weights)
    # Exported within ±255 (the runtime's one-pass exact GEMM), each layer using the range.
    assert all(np.abs(tensors[k]).max() == 255 for k in weights)
    widened = {k: (v.astype(np.int32) if k in weights else v) for k, v in tensors.items()}
    a = IntegerEntropyModel.from_tensors(tensors, codec.manifest)
    b = IntegerEntropyModel.from_tensors(widened, codec.manifest)
    z = (np.arange(codec.manifest["config"]["Nz"] * 16).reshape(-1, 4, 4) % 7 - 3).astype(np.int64)
    assert np.array_equal(a.hyper(z), b.hyper(z))
    widened[weights[0]] = tensors[weights[0]].astype(np.float32)
    with pytest.raises(ValueError, match=weights[0]):
        IntegerEntropyModel.from_tensors(widened, codec.manifest)


# ----- round trips -----
@pytest.mark.parametrize("layout", ["rgba", "gray", "rgb"])
def test_round_trip(codec, layout):
    image = rgba(70, 45, seed=len(layout))
    image = {"rgba": image, "gray": image[:, :, 0], "rgb": image[:, :, :3]}[layout]
    encoded = codec.encode_image(image, 63.456)
    decoded = codec.decode(encoded.data)
    assert (decoded.z_hat == encoded.z_hat).all() and (decoded.y_hat == encoded.y_hat).all()
    assert decoded.image.shape == image.shape and decoded.image.dtype == np.uint8
    if layout == "rgba":
        assert (decoded.image[:, :, 3] == image[:, :, 3]).all()
    header = bs.peek_header(encoded.data)
    assert header.quality == 63.46 and (header.width, header.height) == (70, 45)
    assert header.color_layout == (bs.ColorLayout.GRAY if layout == "gray" else bs.ColorLayout.RGB)
    assert encoded.y_hat.shape == (codec.M, 4, 8) and encoded.z_hat.shape == (codec.Nz, 1, 2)


def test_random_latents_round_trip(codec):
    rng = np.random.default_rng(5)
    for trial, spread in enumerate((0.3, 5.0, 300.0)):
        y = rng.uniform(-spread, spread, size=(codec.M, 4, 4)).astype(np.float32)
        y.reshape(-1)[rng.integers(0, y.size, 3)] = rng.uniform(-1e5, 1e5, 3)  # escapes
        encoded = codec.encode_latent(y, float(rng.integers(0, 10001)) / 100, width=50, height=64, grayscale=trial == 1)
        latents = codec.decode_latents(encoded.data)
        assert (latents.z_hat == encoded.z_hat).all() and (latents.y_hat == encoded.y_hat).all()


def test_module_level_api():
    image = rgba(40, 30, seed=3)[:, :, :3]
    data = pane.encode(image, 40)
    out, y_hat, z_hat, tiles = pane.decode(data)
    assert out.shape == image.shape and y_hat.dtype == np.int64 and z_hat.dtype == np.int64 and tiles is None


def test_quality_is_rounded_to_hundredths_half_away_from_zero():
    assert pane.stored_quality(75) == 75.0
    assert pane.stored_quality(12.345) == 12.35  # 12.345 * 100 == 1234.5: half away from zero
    assert pane.stored_quality(0.125) == 0.13  # not to even
    assert pane.stored_quality(1.005) == 1.0  # 1.005 * 100 == 100.49999999999999 in binary
    assert pane.stored_quality(0.004) == 0.0
    assert pane.stored_quality(99.995) == 100.0
    for bad in (-0.01, 100.01, float("nan")):
        with pytest.raises(pane.CodecError):
            pane.stored_quality(bad)


def test_errors(codec):
    data = codec.encode(rgba(64, 64)[:, :, :3], 50)
    with pytest.raises(bs.TruncatedError):
        codec.decode(data[:-1])
    with pytest.raises(bs.CorruptError):
        codec.decode(data[:43] + bytes([data[43] ^ 1]) + data[44:])  # z payload byte
    with pytest.raises(bs.UnknownModelError):
        codec.decode(make_bitstream_fixtures.with_header_fields(data, model_id=bytes(8)))
    header, sections = bs.parse(data)
    y0 = sections[1]
    forged = bs.serialize(header, [sections[0], bs.Section(y0.kind, 0, 0, bytes(reversed(y0.payload)))] + sections[2:])
    with pytest.raises(rans.EntropyError):
        codec.decode(forged)
    with pytest.raises(pane.CodecError):
        codec.encode(rgba(8, 8)[:, :, :3], 101)


def test_cli_round_trip(tmp_path):
    from PIL import Image

    source = tmp_path / "in.png"
    Image.fromarray(rgba(33, 20, seed=9), mode="RGBA").save(source)
    assert pane.main(["encode", str(source), str(tmp_path / "x.pane"), "-q", "70"]) == 0
    assert pane.main(["decode", str(tmp_path / "x.pane"), str(tmp_path / "out.png")]) == 0
    out = pane.read_image(tmp_path / "out.png")
    assert out.shape == (20, 33, 4) and (out[:, :, 3] == rgba(33, 20, seed=9)[:, :, 3]).all()
    (tmp_path / "bad.pane").write_bytes(b"PANE\x09")
    assert pane.main(["decode", str(tmp_path / "bad.pane"), str(tmp_path / "o.png")]) == 1


# ----- conformance fixtures -----
PYTHON_STREAMS = [s["name"] for s in META["streams"]]
LATENT_STREAMS = [s["name"] for s in META["latent"]["streams"]]


@pytest.mark.parametrize("name", PYTHON_STREAMS + LATENT_STREAMS)
def test_committed_python_streams_decode_to_their_latents(codec, name):
    case = load_case(name)
    latents = codec.decode_latents(case["bytes"])
    assert (latents.z_hat == case["z_hat"]).all() and (latents.y_hat == case["y_hat"]).all()


@pytest.mark.parametrize("name", LATENT_STREAMS)
def test_fixed_latent_reencodes_to_the_committed_bytes(codec, name):
    from safetensors.numpy import load_file

    case = load_case(name)
    y = load_file(str(CONFORMANCE / META["latent"]["file"]))[META["latent"]["tensor"]]
    assert case["margin_z"] >= fixtures.MARGIN_Z and case["margin_y"] >= fixtures.MARGIN_Y
    assert codec.encode_latent(y, case["quality"], case["width"], case["height"]).data == case["bytes"]


@pytest.mark.parametrize("name", PYTHON_STREAMS)
def test_images_reencode_to_the_committed_streams(codec, name):
    """Exact on the machine that wrote them; elsewhere a rounding closer to a tie than the recorded
    margin_z / margin_y could go the other way (float g_a), which would show here first."""
    case = load_case(name)
    image = pane.read_image((CONFORMANCE / case["input"]).resolve())
    encoded = codec.encode_image(image, case["quality"])
    assert (encoded.z_hat == case["z_hat"]).all(), f"ẑ differs (margin_z {case['margin_z']:.2g})"
    assert (encoded.y_hat == case["y_hat"]).all(), f"ŷ differs (margin_y {case['margin_y']:.2g})"
    assert encoded.data == case["bytes"]
    decoded = codec.decode(case["bytes"]).image
    reference = pane.read_image(CONFORMANCE / case["decoded"])
    assert np.abs(decoded.astype(int) - reference.astype(int)).max() <= 2


@pytest.mark.parametrize("name", SWIFT_STREAMS)
def test_swift_written_streams_decode_in_python_to_swifts_latents(codec, name):
    case = load_case(name)
    assert bs.peek_header(case["bytes"]).model_id == codec.model_id, f"{name} is stale: {REGENERATE_SWIFT}"
    decoded = codec.decode(case["bytes"])
    assert (decoded.z_hat == case["z_hat"]).all() and (decoded.y_hat == case["y_hat"]).all()
    source = pane.read_image((CONFORMANCE / case["input"]).resolve())
    assert decoded.image.shape == source.shape
    if source.ndim == 3 and source.shape[2] == 4:
        assert (decoded.image[:, :, 3] == source[:, :, 3]).all()


@pytest.mark.parametrize("name", sorted(p.stem for p in CONFORMANCE.glob("tiled_swift_*.json")))
def test_swift_written_tiled_streams_decode_in_python_to_swifts_latents(codec, name):
    case = json.loads((CONFORMANCE / f"{name}.json").read_text())
    data = (CONFORMANCE / case["stream"]).read_bytes()
    assert bs.peek_header(data).model_id == codec.model_id, f"{name} is stale: {REGENERATE_SWIFT}"
    decoded = codec.decode(data)
    assert len(decoded.tiles) == len(case["tiles"]) > 1
    for (z_hat, y_hat), tile in zip(decoded.tiles, case["tiles"]):
        assert z_hat.tolist() == np.array(tile["z_hat"]["data"]).reshape(tile["z_hat"]["shape"]).tolist()
        assert y_hat.tolist() == np.array(tile["y_hat"]["data"]).reshape(tile["y_hat"]["shape"]).tolist()
    source = pane.read_image((CONFORMANCE / case["input"]).resolve())
    assert decoded.image.shape == source.shape
    assert (decoded.image[:, :, 3] == source[:, :, 3]).all()


def test_tiles_cover_the_image_and_regions_stay_on_the_grid():
    for width, height, size in [(1, 1, 64), (200, 130, 64), (1000, 70, 256), (300, 300, 0)]:
        covered = np.zeros((height, width), dtype=int)
        for tile in pane.tile_grid(width, height, size):
            covered[tile.y:tile.y + tile.height, tile.x:tile.x + tile.width] += 1
            x, y, w, h = pane.tile_region(tile, width, height)
            assert x % 64 == 0 and y % 64 == 0 and w % 64 == 0 and h % 64 == 0
        assert (covered == 1).all()
    assert pane.tile_size_for(3000, 2000, None) == pane.DEFAULT_TILE_SIZE
    assert pane.tile_size_for(768, 512, None) == 0
    with pytest.raises(pane.CodecError):
        pane.tile_size_for(8000, 6000, 0)
    with pytest.raises(pane.CodecError):
        pane.tile_size_for(64, 64, 96)
    with pytest.raises(pane.CodecError):  # a tile as large as the image is one tile: same limit
        pane.tile_size_for(8000, 6000, 8064)
    assert pane.tile_size_for(20000, 6000, 6016) == 6016


def test_swift_written_streams_are_there():
    assert len(SWIFT_STREAMS) >= 3, f"Swift-written conformance streams are missing: {REGENERATE_SWIFT}"


def _same_up_to_margins(a, b):
    """Equal JSON, except the float `margin_*` values (how near a rounding came to a tie), which
    move in their last digits with the CPU's float kernels: those within 1e-4."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(
            abs(a[k] - b[k]) <= 1e-4 if k.startswith("margin_") else _same_up_to_margins(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_up_to_margins(x, y) for x, y in zip(a, b))
    return a == b


def test_fixture_script_reproduces_the_committed_fixtures(tmp_path):
    """Streams byte for byte; the float g_a latent and the margins up to the CPU's float rounding."""
    from safetensors.numpy import load_file

    fixtures.write(tmp_path)
    for committed in sorted(CONFORMANCE.glob("python_*")):
        if committed.suffix == ".png":
            continue  # PNG bytes depend on the zlib build; the pixels are compared above
        made = tmp_path / committed.name
        if committed.suffix == ".json":
            assert _same_up_to_margins(json.loads(made.read_text()), json.loads(committed.read_text())), committed.name
        else:
            assert made.read_bytes() == committed.read_bytes(), committed.name
    latent, committed_latent = load_file(tmp_path / "latent.safetensors"), load_file(CONFORMANCE / "latent.safetensors")
    assert np.allclose(latent["y"], committed_latent["y"], rtol=0, atol=1e-4)
    assert _same_up_to_margins(json.loads((tmp_path / "conformance.json").read_text()), META)


def test_lossless_streams_are_exact_in_every_layout(codec):
    rng = np.random.default_rng(5)
    for shape, tile in [((40, 70), None), ((50, 33, 2), None), ((70, 90, 3), 64), ((65, 130, 4), 64)]:
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        image[5:20] = 17  # flat runs, as in graphics
        data = codec.encode_lossless(image, tile)
        header, sections = bs.parse(data)
        assert header.format_version == 2 and all(s.kind in (bs.Kind.LOSSLESS, bs.Kind.ALPHA) for s in sections)
        assert (codec.decode(data).image == image).all(), shape


def test_committed_lossless_streams_decode_to_their_inputs(codec):
    from PIL import Image
    for entry in META["lossless"]:
        data = (CONFORMANCE / entry["stream"]).read_bytes()
        image = np.asarray(Image.open(CONFORMANCE / entry["input"]))
        assert (codec.decode(data).image == image).all(), entry["name"]
        assert codec.encode_lossless(image, entry["tile_size"] or None) == data
