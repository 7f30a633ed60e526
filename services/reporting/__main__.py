from reporting.main import run

# Guarded: the month close spawns child processes, which import this module again as __mp_main__.
if __name__ == "__main__":
    run()
