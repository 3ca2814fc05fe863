"""Causes chosen from the shape of a pasted text when the text alone cannot prove one: the cause the threads of
that shape verified most often, with the others said in the finding."""
from dllmagic.api import explain
from dllmagic.model import report_to_dict


def top(text: str, validate_report):
    report = explain(text)
    validate_report(report_to_dict(report))
    return report.top


def test_a_name_without_its_module_is_a_name_the_installed_release_lacks(validate_report):
    finding = top("Traceback (most recent call last):\n  File \"train.py\", line 9, in <module>\n"
                  "    model = build()\nImportError: cannot import name 'np_utils'\n", validate_report)
    assert (finding.kind, finding.cause) == ("cannot-import-name", "name-not-in-installed-version")
    assert "does not say from which module" in finding.summary
    assert "a file of yours" in finding.summary and "circular import" in finding.summary
    assert finding.confidence < 0.6 and not any(f.runnable for f in finding.fixes)


def test_python2_wording_without_quotes(validate_report):
    finding = top("ImportError: cannot import name six\n", validate_report)
    assert finding.cause == "name-not-in-installed-version" and "'six'" in finding.summary


def test_the_import_line_still_names_the_module_when_the_message_does_not(validate_report):
    finding = top("Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
                  "    from transformers import AdamW\nImportError: cannot import name 'AdamW'\n", validate_report)
    assert finding.cause == "name-not-in-installed-version"
    assert "does not say from which module" not in finding.summary and "transformers" in finding.summary


IPYTHON7_CELL = ("---------------------------------------------------------------------------\n"
                 "ModuleNotFoundError                       Traceback (most recent call last)\n"
                 "<ipython-input-3-9f1c2a7b8e4d> in <module>\n"
                 "----> 1 import {module}\n\n"
                 "ModuleNotFoundError: No module named '{module}'\n")
IPYTHON8_CELL = ("---------------------------------------------------------------------------\n"
                 "ModuleNotFoundError                       Traceback (most recent call last)\n"
                 "Cell In[2], line 1\n"
                 "----> 1 import {module}\n\n"
                 "ModuleNotFoundError: No module named '{module}'\n")


def test_a_known_package_missing_in_a_notebook_cell_is_installed_for_another_python(validate_report):
    for shape in (IPYTHON7_CELL, IPYTHON8_CELL):
        finding = top(shape.format(module="pandas"), validate_report)
        assert (finding.kind, finding.cause) == ("module-not-found", "installed-in-other-environment"), shape
        assert "%pip install pandas" in finding.summary and "Not checked" in finding.summary
        assert "sys.executable" in "\n".join(f.cell for f in finding.fixes)


def test_the_same_import_outside_a_notebook_is_not_installed(validate_report):
    text = ("Traceback (most recent call last):\n  File \"app.py\", line 1, in <module>\n    import pandas\n"
            "ModuleNotFoundError: No module named 'pandas'\n")
    finding = top(text, validate_report)
    assert finding.cause == "not-installed"
    # The text cannot show that no Python on the machine has it: said, with the alternatives.
    assert "Not checked" in finding.summary and "another Python" in finding.summary
    assert "incomplete" in finding.summary


def test_a_name_no_table_knows_in_a_notebook_cell_is_not_installed(validate_report):
    # The user's own module (or an unknown name) missing in a notebook is not said to be installed elsewhere.
    assert top(IPYTHON8_CELL.format(module="myhelpers"), validate_report).cause == "not-installed"


def test_python2_wording_of_a_known_package_is_another_pythons_install(validate_report):
    text = ("Traceback (most recent call last):\n  File \"fetch.py\", line 2, in <module>\n    import h5py\n"
            "ImportError: No module named h5py\n")
    finding = top(text, validate_report)
    assert (finding.kind, finding.cause) == ("module-not-found", "installed-in-other-environment")
    assert "Python 2" in finding.summary and "python -m pip install h5py" in finding.summary


def test_python2_dotted_name_means_the_package_itself_is_missing(validate_report):
    # Python 2 prints the whole dotted path when the top-level package is missing: not a missing submodule.
    finding = top("ImportError: No module named IPython.core.display\n", validate_report)
    assert finding.cause == "installed-in-other-environment" and "'IPython' itself is missing" in finding.summary
    unknown = top("ImportError: No module named mytool.request\n", validate_report)
    assert unknown.cause == "not-installed"


def test_python3_wording_of_a_dotted_name_is_still_a_missing_submodule(validate_report):
    finding = top("ModuleNotFoundError: No module named 'IPython.core.display'\n", validate_report)
    assert finding.cause == "submodule-not-found"


def test_a_partially_initialised_package_with_extension_modules_is_a_shadow(validate_report):
    # pygame is known by its extension modules (knowledge/extension_packages.json): a release of it does not
    # import itself in a cycle, a pygame.py of the user's does.
    text = ("AttributeError: partially initialized module 'pygame' has no attribute 'init' (most likely due to a "
            "circular import)\n")
    assert top(text, validate_report).cause == "shadowed-by-local-file"
    own = text.replace("pygame", "mygame")
    assert top(own, validate_report).cause == "circular-import"


def test_a_name_no_table_knows_is_not_said_to_be_a_distribution(validate_report):
    finding = top("ModuleNotFoundError: No module named 'zzq_unlisted'\n", validate_report)
    assert finding.cause == "not-installed"
    assert "is a guess" in finding.summary and "it is provided by the distribution" not in finding.summary
    # A name the import-name table knows is said as a fact.
    finding = top("ModuleNotFoundError: No module named 'cv2'\n", validate_report)
    assert "it is provided by the distribution opencv-python" in finding.summary


PRIVATE_FROM_A_PACKAGE = ('Traceback (most recent call last):\n  File "app.py", line 1, in <module>\n    import toolkit\n'
                          '  File "/srv/venv/lib/python3.11/site-packages/toolkit/core.py", line 11, in <module>\n'
                          '    import {module}\nModuleNotFoundError: No module named \'{module}\'\n')


def test_a_private_module_imported_by_an_installed_package_is_that_package_s_broken_install(validate_report):
    finding = top(PRIVATE_FROM_A_PACKAGE.format(module="_toolkit_speedups"), validate_report)
    assert (finding.kind, finding.cause) == ("module-not-found", "broken-install")
    assert "toolkit" in finding.summary and "Not checked" in finding.summary
    assert "--force-reinstall toolkit" in finding.fixes[0].cell and not finding.fixes[0].runnable
    # Not for a public name, a standard-library private module, or one imported by the user's own file.
    assert top(PRIVATE_FROM_A_PACKAGE.format(module="toolkit_speedups"), validate_report).cause != "broken-install"
    assert top(PRIVATE_FROM_A_PACKAGE.format(module="_sqlite3"), validate_report).cause != "broken-install"
    own = ('Traceback (most recent call last):\n  File "/home/ana/proj/app.py", line 1, in <module>\n'
           '    import _helpers\nModuleNotFoundError: No module named \'_helpers\'\n')
    assert top(own, validate_report).cause == "not-installed"


def test_a_distutils_submodule_missing_under_debian_s_system_python_is_the_split_package(validate_report):
    # The Python 3.6 wording names no file of distutils; the traceback's /usr/lib/python3/dist-packages is Debian's.
    text = ('Traceback (most recent call last):\n  File "setup.py", line 10, in <module>\n'
            '    from numpy.distutils.core import setup\n'
            '  File "/usr/lib/python3/dist-packages/numpy/distutils/ccompiler.py", line 10, in <module>\n'
            '    from distutils import ccompiler\nImportError: cannot import name \'ccompiler\'\n')
    finding = top(text, validate_report)
    assert (finding.kind, finding.cause) == ("cannot-import-name", "stdlib-module-missing")
    assert "python3-distutils" in finding.summary and "/usr/lib/python3/dist-packages/" in finding.summary
    # The same import in a virtual environment's own packages is no Debian stub.
    other = top(text.replace("/usr/lib/python3/dist-packages/", "/srv/venv/lib/python3.6/site-packages/"),
                validate_report)
    assert other.cause != "stdlib-module-missing"


REMOVED_WITH_PIP = ("ModuleNotFoundError: No module named 'cgi'\n$ python3.13 -m pip install legacy-cgi\n"
                    "Defaulting to user installation because normal site-packages is not writeable\n"
                    "Requirement already satisfied: legacy-cgi in {folder} (2.6.1)\n")


def test_a_removed_module_whose_copy_pip_has_installed_is_imported_by_another_python(validate_report):
    finding = top(REMOVED_WITH_PIP.format(folder="/home/pi/.local/lib/python3.13/site-packages"), validate_report)
    assert (finding.kind, finding.cause) == ("module-not-found", "installed-in-other-environment")
    assert "legacy-cgi" in finding.summary and "another user" in finding.summary
    # A venv's folder: no other user to name.
    finding = top(REMOVED_WITH_PIP.format(folder="/srv/venv/lib/python3.13/site-packages"), validate_report)
    assert finding.cause == "installed-in-other-environment" and "another user" not in finding.summary
    # Without pip's line it stays the removal.
    assert top("ModuleNotFoundError: No module named 'cgi'\n", validate_report).cause == "removed-from-stdlib"


def test_a_file_named_like_a_module_no_table_knows_leaves_the_package_unchecked(validate_report):
    message = ("ImportError: cannot import name 'CONFIG' from partially initialized module '{m}' (most likely due "
               "to a circular import) (/home/ana/work/{m}.py)\n")
    finding = top(message.format(m="zzq_trainer"), validate_report)
    assert finding.cause == "shadowed-by-local-file"
    assert "Not checked" in finding.summary and "circular import of your own files" in finding.summary
    assert finding.confidence < 0.9
    # A package every table knows: its shadow is said as a fact.
    finding = top(message.format(m="requests"), validate_report)
    assert finding.cause == "shadowed-by-local-file" and "Not checked" not in finding.summary
