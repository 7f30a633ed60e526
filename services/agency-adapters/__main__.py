from agency_adapters.main import run

run()
