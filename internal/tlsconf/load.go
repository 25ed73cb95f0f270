package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// stamp identifies one version of a file: a replaced or rewritten file gets
// a new stamp. The zero stamp stands for "no file".
type stamp struct {
	dev, ino uint64
	size     int64
	mtime    int64 // Unix nanoseconds
	missing  bool
}

// stamps are the stamps of the cert, key and CA files, in that order.
type stamps [3]stamp

func stampOf(fi os.FileInfo) stamp {
	dev, ino := fileID(fi)
	return stamp{dev: dev, ino: ino, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// statAll stats the files; a file that cannot be stat'ed gets a "missing"
// stamp so that it counts as a change.
func (c *Config) statAll() stamps {
	var s stamps
	for i, name := range []string{c.opts.CertFile, c.opts.KeyFile, c.opts.CAFile} {
		if name == "" {
			continue
		}
		fi, err := os.Stat(name)
		if err != nil {
			s[i] = stamp{missing: true}
			continue
		}
		s[i] = stampOf(fi)
	}
	return s
}

// readFile reads a file of at most maxFileSize bytes and returns it with
// the stamp of the very file read.
func readFile(what, name string) ([]byte, stamp, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, stamp{}, fmt.Errorf("tlsconf: %s file: %w", what, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, stamp{}, fmt.Errorf("tlsconf: %s file: %w", what, err)
	}
	if fi.Size() > maxFileSize {
		return nil, stamp{}, fmt.Errorf("tlsconf: %s file %q: larger than %d bytes", what, name, maxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, stamp{}, fmt.Errorf("tlsconf: %s file %q: %w", what, name, err)
	}
	if len(data) > maxFileSize {
		return nil, stamp{}, fmt.Errorf("tlsconf: %s file %q: larger than %d bytes", what, name, maxFileSize)
	}
	return data, stampOf(fi), nil
}

// load reads and checks the files and builds a state. Errors name the file
// and never include key material.
func (c *Config) load() (*state, error) {
	var st state
	certPEM, certStamp, err := readFile("cert", c.opts.CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, keyStamp, err := readFile("key", c.opts.KeyFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	clear(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: cert file %q with key file %q: %w", c.opts.CertFile, c.opts.KeyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tlsconf: cert file %q: %w", c.opts.CertFile, err)
		}
		cert.Leaf = leaf
	}
	// An expired certificate never becomes valid again, and clients refuse
	// it: do not serve it. A certificate not yet valid is accepted, since
	// it soon will be and a clock skew must not block a rotation.
	if now := c.now(); now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("tlsconf: cert file %q: certificate (serial %s) expired at %s",
			c.opts.CertFile, leaf.SerialNumber.Text(16), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	st.cert, st.leaf = &cert, leaf
	st.stamps[0], st.stamps[1] = certStamp, keyStamp
	if c.auth != tls.NoClientCert {
		caPEM, caStamp, err := readFile("ca", c.opts.CAFile)
		if err != nil {
			return nil, err
		}
		if st.pool, err = certPool(caPEM); err != nil {
			return nil, fmt.Errorf("tlsconf: ca file %q: %w", c.opts.CAFile, err)
		}
		st.stamps[2] = caStamp
	}
	st.conf = c.base(st.pool)
	return &st, nil
}

// certPool parses every CERTIFICATE block of a PEM file; a file without one,
// or with one that does not parse, is an error.
func certPool(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return pool, nil
}
