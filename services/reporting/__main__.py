from reporting.main import run

run()
