"""motcua's API: the app and its blueprints, nothing else."""

from chalice import Chalice

from chalicelib.handlers import agency, catalogue, dossiers, events, openapi, payments
from chalicelib.handlers import documents as document_handlers
from chalicelib.handlers.http import install_middleware

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
