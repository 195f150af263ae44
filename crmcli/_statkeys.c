/* crmcli._statkeys: the stat keys of many files of one folder, in one call.
 *
 * The index checks every record file against the (mtime_ns, size, inode) it
 * was built from (crmcli/cache.py, _stat_range).  From Python, each os.lstat
 * builds a stat_result of some twenty objects: on the 2-core VM the project
 * is measured on, that doubles the cost of the system call itself (4.2 us a
 * file against 2.2 us), and at 100,000 clients (1.4 million files) it is the
 * largest part of every warm command.  This module does the same loop in C,
 * without the GIL, and returns the keys packed as cache.py packs them.
 *
 * Optional: setup.py builds it where a C compiler is at hand; without it,
 * cache.py does the same work in Python (and tests compare the two).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#ifdef __APPLE__
#define MTIME(st) ((st).st_mtimespec)
#else
#define MTIME(st) ((st).st_mtim)
#endif

PyDoc_STRVAR(keys_doc,
"keys(dir_fd, names) -> bytes\n\n"
"For each name of the list (relative to the open folder dir_fd), its\n"
"(st_mtime_ns, st_size, st_ino) as three native int64, as os.lstat gives\n"
"them; (-1, -1, -1) for a name that is gone or is not a regular file.");

static PyObject *
keys(PyObject *self, PyObject *args)
{
    int fd;
    PyObject *names;
    if (!PyArg_ParseTuple(args, "iO!:keys", &fd, &PyList_Type, &names))
        return NULL;
    /* a copy of the list holds every name while the GIL is released, so
       another thread changing the caller's list cannot free one */
    PyObject *held = PyList_GetSlice(names, 0, PyList_GET_SIZE(names));
    if (held == NULL)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(held);
    const char **paths = PyMem_Malloc(sizeof(char *) * (n > 0 ? n : 1));
    if (paths == NULL) {
        Py_DECREF(held);
        return PyErr_NoMemory();
    }
    PyObject *kept = PyList_New(0);   /* encoded non-ASCII names, alive till the end */
    PyObject *out = NULL;
    if (kept == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyList_GET_ITEM(held, i);
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "keys: every name must be a str");
            goto done;
        }
        size_t size;
        if (PyUnicode_IS_ASCII(name)) {
            paths[i] = (const char *)PyUnicode_DATA(name);
            size = (size_t)PyUnicode_GET_LENGTH(name);
        }
        else {   /* as os.lstat encodes it: the file-system encoding, surrogateescape */
            PyObject *raw = PyUnicode_EncodeFSDefault(name);
            if (raw == NULL)
                goto done;
            int failed = PyList_Append(kept, raw);
            Py_DECREF(raw);
            if (failed)
                goto done;
            paths[i] = PyBytes_AS_STRING(raw);
            size = (size_t)PyBytes_GET_SIZE(raw);
        }
        if (strlen(paths[i]) != size) {   /* os.lstat refuses these too */
            PyErr_SetString(PyExc_ValueError, "keys: embedded null character in a name");
            goto done;
        }
    }
    out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(3 * sizeof(int64_t)) * n);
    if (out == NULL)
        goto done;
    int64_t *key = (int64_t *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++, key += 3) {
        struct stat st;
        if (fstatat(fd, paths[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
            key[0] = (int64_t)MTIME(st).tv_sec * 1000000000 + (int64_t)MTIME(st).tv_nsec;
            key[1] = (int64_t)st.st_size;
            key[2] = (int64_t)st.st_ino;
        }
        else {
            key[0] = key[1] = key[2] = -1;
        }
    }
    Py_END_ALLOW_THREADS
done:
    PyMem_Free(paths);
    Py_XDECREF(kept);
    Py_DECREF(held);
    return out;
}

static PyMethodDef methods[] = {
    {"keys", keys, METH_VARARGS, keys_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "crmcli._statkeys",
    "The stat keys of many files of one folder, in one call (see cache.py).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__statkeys(void)
{
    return PyModule_Create(&module);
}
