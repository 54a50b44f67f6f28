"""motcua's API: the app and its blueprints, nothing else."""

import gc

# Importing builds objects that live as long as the container (modules, classes, routes): cyclic
# collections while it runs find nothing to free and cost ~10 ms of a cold start. Once built they
# are frozen, out of the collector's reach: no full collection during requests traverses them
# again, nor do the collections the interpreter runs when a process ends (bench/coldstart.py).
_collecting = gc.isenabled()
gc.disable()

from chalice import Chalice  # noqa: E402

from chalicelib.handlers import agency, catalogue, dossiers, events, openapi, payments  # noqa: E402
from chalicelib.handlers import documents as document_handlers  # noqa: E402
from chalicelib.handlers.http import install_middleware  # noqa: E402

app = Chalice(app_name="motcua", configure_logs=False)
app.api.cors = True
install_middleware(app)
app.register_blueprint(catalogue.bp)
app.register_blueprint(dossiers.bp)
app.register_blueprint(openapi.bp)
app.register_blueprint(agency.bp)
app.register_blueprint(events.bp)
app.register_blueprint(payments.bp)
app.register_blueprint(document_handlers.bp)

gc.freeze()
if _collecting:
    gc.enable()
