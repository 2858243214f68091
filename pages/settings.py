"""Settings: every field of studio.config.Settings with its help text, persisted in the database;
plus where things are stored and which engines are installed."""

import streamlit as st

from studio.ui import format as fmt
from studio.ui.runtime import services
from studio.ui.settings_form import settings_form
from studio.ui.text import plain
from studio.ui.workers import worker_line

svc = services()
st.title("Settings")

saved = settings_form(svc.settings(), engine_ids=[i.id for i in svc.registry.infos()], usable=svc.lever_choices())
if saved is not None:
    try:
        svc.apply_settings(saved)
    except ValueError as exc:
        st.error(plain(exc), icon=":material/folder_off:")
    else:
        st.success("Settings saved.", icon=":material/check:")

st.subheader("Storage")
current = svc.settings()
cols = st.columns(3)
cols[0].metric("Database", svc.paths.sqlite_path.name if svc.paths.sqlite_path else "external",
               help=plain(svc.paths.database_label))
cols[1].metric("Disk used by outputs", fmt.size(svc.storage.outputs_size_bytes()))
cols[2].metric("Runs in history", svc.history.list_runs_count())
st.caption(f"Database: {plain(svc.paths.sqlite_path or 'external database')} · "
           f"outputs: {plain(current.outputs_dir(svc.paths))} · logs: {plain(svc.paths.logs_dir)}")

st.subheader("Workers")
workers = svc.workers()
if not workers:
    st.caption("No worker has been heard from in the last half minute: queued runs wait until one starts.")
for worker in workers:
    st.markdown(worker_line(worker))

st.subheader("Engines")
if st.button("Rescan models", icon=":material/refresh:", key="rescan_models",
             help="Look in the model folders and the huggingface cache again, for weights downloaded or copied "
                  "there since the studio last looked."):
    svc.rescan_models()
st.dataframe([
    {"engine": info.label, "id": info.id, "status": status.state, "detail": status.detail, "install": status.hint}
    for info in svc.registry.infos(include_developer=current.developer_mode)
    for status in [svc.weights_status(info.id)]
], hide_index=True, width="stretch")

st.subheader("LoRAs")
loras = svc.loras()
if not loras:
    st.caption("No LoRAs: add a folder of .safetensors LoRA files above (LoRA folders).")
else:
    st.dataframe([{"LoRA": lora.name, "size": fmt.size(lora.size), "for": lora.family_label,
                   "problem": lora.problem, "path": str(lora.path)} for lora in loras], hide_index=True, width="stretch")

st.subheader("Import runs")
st.caption("Add runs exported from another studio (Gallery → select runs → Export zip). They get new numbers here; "
           "their videos, inputs, tags and lineage come along.")
bundle = st.file_uploader("Studio export (.zip)", type=["zip"], key="import_zip",
                          help="A zip made by a studio's Export button. Nothing changes if the file is not valid.")
# The runs each file dropped here was imported as, this session: a second press adds every run again.
done = st.session_state.setdefault("imported_files", {})
earlier = done.get(bundle.file_id) if bundle is not None else None
if earlier:
    st.success(f"Imported {len(earlier)} run{'s' if len(earlier) != 1 else ''}: " + ", ".join(f"#{i}" for i in earlier) + ". Importing the same file "
               "again adds its runs a second time.")
if bundle is not None and st.button("Import again" if earlier else "Import", icon=":material/unarchive:"):
    try:
        imported = svc.import_upload(bundle.getvalue(), bundle.name)
    except ValueError as exc:
        st.error(plain(exc))
    else:
        done[bundle.file_id] = imported
        st.rerun()
