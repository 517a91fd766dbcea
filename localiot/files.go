package localiot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The emulator's stand-in for the S3 bucket a firmware image lives in: a
// job document names a file as ${aws:iot:s3-presigned-url:https://API/files/NAME},
// and each device that gets the document gets a URL presigned (SigV4, service
// s3) with an expiry, as AWS IoT Jobs presigns S3 URLs. Uploads are
// SigV4-signed PUTs (`iotwatch job create --file`); downloads need the
// presigned URL and may ask for ranges (a device resuming an OTA).

// maxFile bounds an upload: an ESP32's OTA partition is under 4 MiB.
const maxFile = 16 << 20

var fileNameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`)

// files is where uploads are kept: DataDir/files, or a directory removed
// when the emulator closes.
type files struct {
	dir    string
	temp   bool
	upload sync.Mutex // one upload in memory at a time
}

func openFiles(dataDir string) (*files, error) {
	if dataDir == "" {
		dir, err := os.MkdirTemp("", "iotwatch-files-")
		return &files{dir: dir, temp: true}, err
	}
	dir := filepath.Join(dataDir, "files")
	return &files{dir: dir}, os.MkdirAll(dir, 0o700)
}

func (f *files) close() {
	if f.temp {
		os.RemoveAll(f.dir)
	}
}

func (a *api) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	if !fileNameRE.MatchString(name) || name == "." || name == ".." {
		writeError(w, invalid("file name %q: 1 to 128 of a-z A-Z 0-9 . _ -", name))
		return
	}
	switch r.Method {
	case http.MethodPut:
		a.putFile(w, r, name)
	case http.MethodGet, http.MethodHead:
		if err := a.verifier.VerifyPresigned(r, "s3"); err != nil {
			// S3's answer to any URL it did not presign, or presigned for a
			// time that is over.
			writeError(w, errorf(http.StatusForbidden, "AccessDenied", "%v", err))
			return
		}
		http.ServeFile(w, r, filepath.Join(a.srv.files.dir, name))
	default:
		writeError(w, errorf(http.StatusMethodNotAllowed, "MethodNotAllowedException", "%s is not allowed on /files/ (PUT uploads, GET downloads)", r.Method))
	}
}

func (a *api) putFile(w http.ResponseWriter, r *http.Request, name string) {
	if r.ContentLength > maxFile {
		writeError(w, errorf(http.StatusRequestEntityTooLarge, "EntityTooLarge", "the file is %d bytes; the emulator keeps files of at most %d", r.ContentLength, maxFile))
		return
	}
	fs := a.srv.files
	fs.upload.Lock()
	defer fs.upload.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFile+1))
	if err != nil || len(body) > maxFile {
		writeError(w, errorf(http.StatusRequestEntityTooLarge, "EntityTooLarge", "the file is larger than %d bytes", maxFile))
		return
	}
	if err := a.verifier.Verify(r, body, "s3"); err != nil {
		writeError(w, err)
		return
	}
	tmp, err := os.CreateTemp(fs.dir, ".upload-")
	if err == nil {
		_, err = tmp.Write(body)
		if err == nil {
			err = tmp.Sync()
		}
		tmp.Close()
		if err == nil {
			err = os.Rename(tmp.Name(), filepath.Join(fs.dir, name))
		}
		os.Remove(tmp.Name())
	}
	if err != nil {
		writeError(w, fmt.Errorf("storing %s: %w", name, err))
		return
	}
	sum := sha256.Sum256(body)
	writeAnswer(w, map[string]any{"name": name, "size": len(body), "sha256": hex.EncodeToString(sum[:])})
}

// presigner presigns GET URLs with the emulator's credentials (service s3),
// for ExpandPresigned.
func (s *Server) presigner(creds aws.Credentials, region string) func(string, time.Duration) (string, error) {
	signer := v4.NewSigner()
	return func(raw string, expires time.Duration) (string, error) {
		u, err := url.Parse(raw)
		if err != nil {
			return "", err
		}
		q := u.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(int(expires.Seconds())))
		u.RawQuery = q.Encode()
		req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
		const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		signed, _, err := signer.PresignHTTP(context.Background(), creds, req, emptySHA256, "s3", region, time.Now())
		return signed, err
	}
}
